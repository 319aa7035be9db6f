"""The KYC review queue in the system Chromium: a compliance officer clears a watchlist hit and approves."""

from __future__ import annotations

import io
import re

import pytest
from django_tenants.utils import tenant_context
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from crm.models import Client
from kyc import storage
from kyc.models import Document, Review
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.kyc.review_support import waiting_file
from watchlists.models import ListVersion

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def passport_scan() -> bytes:
    """A small JPEG that looks like a passport's data page."""
    image = Image.new("RGB", (480, 320), (228, 236, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 60, 150, 230), fill=(170, 180, 195))
    draw.text((180, 70), "PASSPORT  DEU", fill=(20, 30, 60))
    draw.text((180, 110), "SCHMIDT, ANNA MARIA", fill=(20, 30, 60))
    draw.text((20, 270), "P<DEUSCHMIDT<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<<", fill=(20, 30, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_compliance_clears_a_false_positive_and_approves(page, site, alpha, screenshot):
    officer = staff_with_totp(alpha, "cora.compliance@alpha.test", roles=["compliance"])
    with tenant_context(alpha):
        anna = waiting_file("anna.review@alpha.test", hours=30, hit=True, reasons=["1 open watchlist hit to decide"])
        Document.objects.filter(client=anna.client).update(file=storage.file_save(passport_scan()))
        waiting_file("ben.review@alpha.test", hours=3, first_name="Ben", last_name="Okafor")
        waiting_file(
            "dora.review@alpha.test",
            hours=50,
            risk=Client.RiskLevel.HIGH,
            first_name="Dora",
            last_name="Lindqvist",
            reasons=["High risk: needs two compliance officers"],
        )

    page.goto(site.tenant("alpha", "/ops/kyc/"))
    sign_in(page, page.url, "cora.compliance@alpha.test")
    enter_totp(page, officer)
    expect(page.get_by_role("link", name="Review queue")).to_have_attribute("aria-current", "page")
    rows = page.locator("table.kyc-queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Dora Lindqvist")
    expect(rows.nth(0)).to_have_class(re.compile("overdue"))
    expect(rows.nth(1)).to_contain_text("Anna Schmidt")
    expect(rows.nth(1)).to_contain_text("1 open hit")
    expect(rows.nth(2)).to_contain_text("Ben Okafor")
    expect(page.locator("#queue-counts")).to_contain_text("2")
    screenshot(page, "ops-kyc-queue")

    page.get_by_label("With open watchlist hits").check()
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"hits=on"))
    screenshot(page, "ops-kyc-queue-filtered")

    rows.first.get_by_role("link", name="Anna Schmidt").click()
    expect(page.get_by_role("heading", name="Review of Anna Schmidt")).to_be_visible()
    preview = page.locator("#documents .kyc-preview img")
    expect(preview).to_be_visible()
    page.wait_for_function(
        "() => { const img = document.querySelector('#documents .kyc-preview img'); return img.complete && img.naturalWidth > 0; }"
    )
    assert preview.evaluate("img => img.naturalWidth") == 480  # the decrypted scan, served by /kyc/files/
    expect(page.locator("#documents")).to_contain_text("Machine-readable zone valid")
    hit = page.locator("#hits .kyc-hit").first
    expect(hit).to_contain_text("Anna SCHMIDT")
    expect(hit).to_contain_text("-15: Listed born 1961; the client in 1990")
    approve = page.get_by_role("button", name="Approve the client")
    expect(approve).to_be_disabled()
    expect(page.locator("#approve-refusal")).to_contain_text("Decide the open watchlist hit first")
    screenshot(page, "ops-kyc-review")

    hit.get_by_label("Why it is not this person").fill("Listed person born 1961; our client in 1990")
    hit.get_by_role("button", name="False positive").click()
    expect(page.locator(".messages")).to_contain_text("marked as a false positive")
    expect(page.locator("#hits .kyc-hit").first).to_contain_text("False positive")
    expect(approve).to_be_enabled()
    screenshot(page, "ops-kyc-review-hit-cleared")

    approve.click()
    expect(page.locator(".messages")).to_contain_text("Approved: Anna Schmidt is verified.")
    expect(page.locator("#review-status")).to_have_text("Approved")
    expect(page.locator("#decisions")).to_have_count(0)
    screenshot(page, "ops-kyc-review-approved")
    with tenant_context(alpha):
        anna.refresh_from_db()
        assert anna.status == Review.Status.APPROVED
        assert Client.objects.get(pk=anna.client_id).kyc_status == Client.KycStatus.APPROVED

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site.tenant("alpha", "/ops/kyc/"))
    expect(page.locator("table.kyc-queue tbody tr")).to_have_count(2)
    screenshot(page, "ops-kyc-queue-phone")

    page.set_viewport_size({"width": 1280, "height": 800})
    ListVersion.objects.create(
        source="demo", format="json", file_name="demo.json", sha256="c" * 64, entry_count=40, added=40, is_current=True
    )
    page.goto(site.tenant("alpha", "/ops/kyc/watchlists/"))
    expect(page.locator("#current-lists")).to_contain_text("Demo sample")
    expect(page.locator("#rescreen-progress")).to_be_visible()
    screenshot(page, "ops-kyc-watchlists")
