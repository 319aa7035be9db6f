"""The same vendor webhook delivered on several connections at the same moment applies once."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client, Email
from kyc.adapters.services import client_reference
from kyc.models import Review, VendorEvent
from tests import factories
from tests.concurrency import race
from tests.kyc.support_vendors import SECRETS, post, sumsub_body, sumsub_headers, vendor_use
from tests.tenants.web import tenant_web_client


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_apply_the_verdict_once(alpha):
    with tenant_context(alpha):
        vendor_use("sumsub", secret=SECRETS["alpha"])
        client = factories.ClientFactory(kyc_status=Client.KycStatus.PENDING, risk_level=Client.RiskLevel.LOW)
        Review.objects.create(client=client, reasons=["Waiting for the vendor"])
        body = sumsub_body(client_reference(client), answer="RED", reject_type="FINAL", moderation="Declined.")
        headers = sumsub_headers(body, SECRETS["alpha"])
    answers = race(alpha, lambda index: post(tenant_web_client(alpha), "sumsub", body, headers), count=6)
    statuses = sorted((answer.status_code, answer.json()["outcome"]) for answer in answers)
    assert statuses == [(200, "applied")] + [(200, "duplicate")] * 5
    connection.set_tenant(alpha)
    assert VendorEvent.objects.count() == 1
    assert AuditRecord.objects.filter(action="kyc.vendor.verdict_applied").count() == 1
    assert AuditRecord.objects.filter(action="kyc.review.rejected").count() == 1
    assert Email.objects.filter(client=client, subject="Your verification was declined").count() == 1
    client.refresh_from_db()
    assert client.kyc_status == Client.KycStatus.REJECTED
