"""The KYC panel on the CRM client 360 page: what a reviewer reads there, and who sees it."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm.models import Client
from kyc.models import Document, Review, RiskAssessment, ScreeningHit
from tests import factories
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def kim(alpha):
    """A pending alpha client with a passport, a risk score, an open hit and an open review."""
    with tenant_context(alpha):
        sam = factories.staff_user("sam@alpha.test", roles=["sales"])
        client = factories.ClientFactory(
            first_name="Kim", last_name="Panel", sales_agent=sam, kyc_status=Client.KycStatus.PENDING
        )
        Document.objects.create(
            client=client,
            kind="passport",
            file="x",
            original_name="passport.jpg",
            content_type="image/jpeg",
            size=1000,
            sha256="0" * 64,
            status="expired",
            status_reason="Expired on 1 January 2026",
        )
        RiskAssessment.objects.create(
            client=client,
            score=70,
            level="high",
            trigger="test",
            reasons=[
                {"factor": "pep", "points": 40, "text": "Politically exposed person"},
                {"factor": "country", "points": 20, "text": "Resident in a higher-risk country"},
                {"factor": "funds", "points": 5, "text": "Funds from crypto-assets"},
                {"factor": "age", "points": 1, "text": "Young account"},
            ],
        )
        ScreeningHit.objects.create(
            client=client,
            source="ofac",
            entry_id="1",
            entry_hash="h",
            entry={},
            score=90,
            explanation={},
            trigger="manual",
        )
        review = Review.objects.create(client=client, reasons=["1 open watchlist hit to decide"])
    return type("Kim", (), {"client": client, "review": review, "sam": sam})


def test_a_reviewer_reads_status_risk_reasons_documents_hits_and_the_open_review(alpha, alice, kim):
    response = tenant_web_client(alpha, alice).get(f"/ops/crm/clients/{kim.client.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    panel = html[html.index('id="panel-kyc"') :]
    panel = panel[: panel.index("</section>")]
    assert '<span class="badge warn">Under review</span>' in panel
    assert "High · score 70" in panel
    assert "Politically exposed person" in panel and "Funds from crypto-assets" in panel
    assert "Young account" not in panel  # the top three reasons only
    assert "1 open" in panel
    assert f'href="/ops/kyc/reviews/{kim.review.pk}/"' in panel
    assert "Passport" in panel and "Expired" in panel


def test_a_sales_agent_sees_the_client_but_not_the_kyc_panel(alpha, kim):
    response = tenant_web_client(alpha, kim.sam).get(f"/ops/crm/clients/{kim.client.pk}/")
    assert response.status_code == 200
    assert 'id="panel-kyc"' not in response.content.decode()
