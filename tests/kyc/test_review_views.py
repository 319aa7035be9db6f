"""/ops/kyc/: the review queue, the review page and its decisions, the watchlists page; who sees what.

Personas in alpha: Cora and Cole (compliance), Sue (support: reviews, no kyc_compliance), Sam (sales)
and Fay (finance) who may not review, Sal (a sales agent granted kyc_review: only her own clients).
In beta: Bob, its owner, must see nothing of alpha.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm.models import Client
from kyc.cards import pending_reviews
from kyc.models import Document, DocumentRequest, KycSettings, Review, ScreeningHit
from kyc.review import review_approve
from tests import factories
from tests.kyc.review_support import compliance, sales_agent_who_reviews, support, waiting_file
from tests.tenants.web import tenant_web_client
from watchlists.models import ListVersion

pytestmark = pytest.mark.django_db
QUEUE = "/ops/kyc/"


@pytest.fixture
def people(alpha, beta):
    with tenant_context(beta):
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
    with tenant_context(alpha):
        return {
            "cora": compliance("cora@alpha.test"),
            "cole": compliance("cole@alpha.test"),
            "sue": support("sue@alpha.test"),
            "sam": factories.staff_user("sam@alpha.test", roles=["sales"]),
            "fay": factories.staff_user("fay@alpha.test", roles=["finance"]),
            "sal": sales_agent_who_reviews("sal@alpha.test"),
            "bob": bob,
        }


@pytest.fixture
def queue(alpha, people):
    """Four files: Dora waits longest (50 h, high risk, first approval given), Anna 30 h with a hit,
    Ben 5 h (Sal's client), Eve 1 h. An approved file from yesterday is in the decided tab."""
    with tenant_context(alpha):
        files = {
            "anna": waiting_file("anna@alpha.test", hours=30, hit=True, reasons=["1 open watchlist hit to decide"]),
            "ben": waiting_file(
                "ben@alpha.test", hours=5, first_name="Ben", last_name="Okafor", sales_agent=people["sal"]
            ),
            "dora": waiting_file(
                "dora@alpha.test",
                hours=50,
                risk=Client.RiskLevel.HIGH,
                first_name="Dora",
                last_name="Lindqvist",
                reasons=["High risk: needs two compliance officers"],
            ),
            "eve": waiting_file(
                "eve@alpha.test", hours=1, first_name="Eve", last_name="Adams", risk=Client.RiskLevel.MEDIUM
            ),
            "old": waiting_file("olga@alpha.test", hours=40, first_name="Olga", last_name="Decided"),
        }
        files["dora"] = review_approve(files["dora"], actor=people["cora"])
        review_approve(files["old"], actor=people["cole"])
        return files


def rows(html: str, files: dict) -> list[str]:
    """Names of the files in the order the page lists them."""
    positions = {key: html.find(f'data-review="{review.pk}"') for key, review in files.items()}
    return [key for key, at in sorted(positions.items(), key=lambda item: item[1]) if at >= 0]


# The queue ----------------------------------------------------------------------------------------------


def test_the_queue_lists_open_reviews_oldest_first_with_the_sla_counts(alpha, people, queue):
    page = tenant_web_client(alpha, people["cora"]).get(QUEUE)

    assert page.status_code == 200
    html = page.content.decode()
    assert rows(html, queue) == ["dora", "anna", "ben", "eve"]
    assert page.context["counts"] == {"total": 4, "second": 1, "overdue": 2, "high": 1, "hits": 1}
    overdue = [r.pk for r in page.context["page"] if r.opened_at < page.context["overdue_before"]]
    assert overdue == [queue["dora"].pk, queue["anna"].pk]
    assert html.count('class="overdue"') == 2
    assert "over the 24 h SLA" in html
    assert "Waits for a second approval" in html and "first: cora@alpha.test" not in html
    assert f"first: {people['cora'].get_full_name()}" in html
    assert "1 open watchlist hit to decide" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("risk=high", ["dora"]),
        ("risk=medium", ["eve"]),
        ("second=on", ["dora"]),
        ("overdue=on", ["dora", "anna"]),
        ("hits=on", ["anna"]),
        ("risk=low&overdue=on", ["anna"]),
        ("risk=nonsense", ["dora", "anna", "ben", "eve"]),
    ],
)
def test_the_queue_filters(alpha, people, queue, query, expected):
    html = tenant_web_client(alpha, people["cora"]).get(f"{QUEUE}?{query}").content.decode()

    assert rows(html, queue) == expected


def test_the_sla_comes_from_the_tenant_settings(alpha, people, queue):
    with tenant_context(alpha):
        settings = KycSettings.current()
        settings.review_sla_hours = 4
        settings.save()

    page = tenant_web_client(alpha, people["cora"]).get(f"{QUEUE}?overdue=on")

    assert rows(page.content.decode(), queue) == ["dora", "anna", "ben"]
    assert page.context["counts"]["overdue"] == 3


def test_htmx_filtering_returns_only_the_rows(alpha, people, queue):
    page = tenant_web_client(alpha, people["cora"]).get(f"{QUEUE}?hits=on", HTTP_HX_REQUEST="true")

    html = page.content.decode()
    assert "<h1>" not in html
    assert rows(html, queue) == ["anna"]


def test_the_recently_decided_tab(alpha, people, queue):
    html = tenant_web_client(alpha, people["cora"]).get(f"{QUEUE}?tab=decided").content.decode()

    assert f"/ops/kyc/reviews/{queue['old'].pk}/" in html
    assert "Olga Decided" in html and "Approved" in html
    assert f"/ops/kyc/reviews/{queue['anna'].pk}/" not in html


def test_the_queue_costs_the_same_queries_for_four_files_or_ten(alpha, people, queue):
    web = tenant_web_client(alpha, people["cora"])
    web.get(QUEUE)  # warm: sessions, settings row
    with CaptureQueriesContext(connection) as four:
        web.get(QUEUE)
    with tenant_context(alpha):
        for n in range(6):
            waiting_file(f"more{n}@alpha.test", hours=n, hit=n % 2 == 0)
    with CaptureQueriesContext(connection) as ten:
        web.get(QUEUE)

    assert len(ten) == len(four)


# Who sees what -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sam", "fay"])
def test_sales_and_finance_may_not_open_the_queue_or_a_review(alpha, people, queue, who):
    web = tenant_web_client(alpha, people[who])

    assert web.get(QUEUE).status_code == 403
    assert web.get(f"/ops/kyc/reviews/{queue['anna'].pk}/").status_code == 403
    assert web.post(f"/ops/kyc/reviews/{queue['eve'].pk}/approve/").status_code == 403
    with tenant_context(alpha):
        assert Review.objects.get(pk=queue["eve"].pk).status == Review.Status.OPEN


def test_anonymous_visitors_are_sent_to_sign_in(alpha, queue):
    response = tenant_web_client(alpha).get(QUEUE)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_sales_agent_who_reviews_sees_only_her_own_clients(alpha, people, queue):
    web = tenant_web_client(alpha, people["sal"])

    page = web.get(QUEUE)
    assert rows(page.content.decode(), queue) == ["ben"]
    assert page.context["counts"]["total"] == 1
    assert web.get(f"/ops/kyc/reviews/{queue['ben'].pk}/").status_code == 200
    assert web.get(f"/ops/kyc/reviews/{queue['anna'].pk}/").status_code == 404
    assert web.post(f"/ops/kyc/reviews/{queue['eve'].pk}/approve/").status_code == 404
    assert web.post(f"/ops/kyc/reviews/{queue['eve'].pk}/reject/", {"reason": "x"}).status_code == 404
    with tenant_context(alpha):
        assert Review.objects.get(pk=queue["eve"].pk).status == Review.Status.OPEN


def test_another_tenant_sees_nothing(alpha, beta, people, queue):
    web = tenant_web_client(beta, people["bob"])

    assert web.get(f"/ops/kyc/reviews/{queue['anna'].pk}/").status_code == 404
    assert web.post(f"/ops/kyc/reviews/{queue['eve'].pk}/approve/").status_code == 404
    html = web.get(QUEUE).content.decode()
    assert "Schmidt" not in html and "Okafor" not in html
    with tenant_context(alpha):
        assert Review.objects.get(pk=queue["eve"].pk).status == Review.Status.OPEN


# The review page ------------------------------------------------------------------------------------------


def test_the_review_page_shows_the_whole_file(alpha, people, queue):
    anna = queue["anna"]
    page = tenant_web_client(alpha, people["cora"]).get(f"/ops/kyc/reviews/{anna.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    with tenant_context(alpha):
        document = Document.objects.get(client=anna.client, kind=Document.Kind.PASSPORT)
        hit = ScreeningHit.objects.get(client=anna.client)
    assert f'href="/ops/crm/clients/{anna.client_id}/"' in html
    assert f'src="/kyc/files/{document.pk}/"' in html  # an image: previewed inline
    assert "Machine-readable zone valid" in html
    assert '<th scope="row">Check digits › Composite</th><td>yes</td>' in html
    assert '<th scope="row">Name › Document</th><td>ANNA MARIA SCHMIDT</td>' in html
    assert "Anna SCHMIDT" in html and "Anja Schmitt" in html
    assert page.context["hits"][0].explanation_rows == [
        ("Client name", "Anna Schmidt"),
        ("Matched list name", "Anna SCHMIDT (primary)"),
        ("Name score", "96"),
        ("Words", "anna ↔ anna (100, exact); schmidt ↔ schmidt (100, exact)"),
        ("Date of birth", "-15: Listed born 1961; the client in 1990"),
        ("Nationality", "+0: The list gives no nationality"),
        ("Final score", "81"),
    ]
    assert '<th scope="row">Date of birth</th><td>-15: Listed born 1961; the client in 1990</td>' in html
    assert f"/ops/kyc/reviews/{anna.pk}/hits/{hit.pk}/decide/" in html
    assert "Personal and financial profile" in html and "Engineer" in html
    assert page.context["approve_refusal"].startswith("Decide the open watchlist hit first")
    assert "Reject the application" in html and "Ask the client" in html


def test_the_review_page_says_what_the_client_has_not_completed_and_refuses_the_approval(alpha, people, queue):
    eve = queue["eve"]
    with tenant_context(alpha):
        eve.client.kyc_documents.filter(kind=Document.Kind.PROOF_OF_ADDRESS).delete()
    web = tenant_web_client(alpha, people["cora"])

    page = web.get(f"/ops/kyc/reviews/{eve.pk}/")
    assert page.context["approve_refusal"] == "The client has not completed: Proof of address."
    assert "The client has not completed: Proof of address." in page.content.decode()

    response = web.post(f"/ops/kyc/reviews/{eve.pk}/approve/", {"seen_status": "open"}, follow=True)
    assert "The client has not completed: Proof of address." in response.content.decode()
    with tenant_context(alpha):
        assert Review.objects.get(pk=eve.pk).status == Review.Status.OPEN


def test_a_pdf_is_linked_not_previewed(alpha, people, queue):
    with tenant_context(alpha):
        Document.objects.filter(client=queue["eve"].client).update(content_type="application/pdf")
    html = tenant_web_client(alpha, people["cora"]).get(f"/ops/kyc/reviews/{queue['eve'].pk}/").content.decode()

    assert "Open the PDF" in html and '<img src="/kyc/files/' not in html


def test_support_sees_why_she_cannot_approve_a_high_risk_file_and_is_refused(alpha, people, queue):
    web = tenant_web_client(alpha, people["sue"])
    dora = queue["dora"]

    page = web.get(f"/ops/kyc/reviews/{dora.pk}/")
    assert "High-risk clients need two compliance officers" in page.content.decode()
    assert "False positive" not in page.content.decode()

    response = web.post(f"/ops/kyc/reviews/{dora.pk}/approve/", {"seen_status": "awaiting_second"}, follow=True)
    assert "High-risk clients need two compliance officers" in response.content.decode()
    with tenant_context(alpha):
        assert Review.objects.get(pk=dora.pk).status == Review.Status.AWAITING_SECOND


def test_four_eyes_through_the_pages(alpha, people, queue):
    dora = queue["dora"]
    page = tenant_web_client(alpha, people["cora"]).get(f"/ops/kyc/reviews/{dora.pk}/")
    assert "You gave the first approval" in page.content.decode()
    refused = tenant_web_client(alpha, people["cora"]).post(
        f"/ops/kyc/reviews/{dora.pk}/approve/", {"seen_status": "awaiting_second"}, follow=True
    )
    assert "You gave the first approval" in refused.content.decode()

    approved = tenant_web_client(alpha, people["cole"]).post(
        f"/ops/kyc/reviews/{dora.pk}/approve/", {"seen_status": "awaiting_second"}, follow=True
    )

    assert "Approved: Dora Lindqvist is verified." in approved.content.decode()
    with tenant_context(alpha):
        dora.refresh_from_db()
        assert (dora.status, dora.first_approver, dora.decided_by) == ("approved", people["cora"], people["cole"])


def test_rejecting_without_a_reason_changes_nothing(alpha, people, queue):
    response = tenant_web_client(alpha, people["sue"]).post(
        f"/ops/kyc/reviews/{queue['eve'].pk}/reject/", {"reason": "  "}, follow=True
    )

    assert "Say why: the client reads the reason." in response.content.decode()
    with tenant_context(alpha):
        assert Review.objects.get(pk=queue["eve"].pk).status == Review.Status.OPEN


def test_requesting_documents_from_the_page(alpha, people, queue):
    web = tenant_web_client(alpha, people["sue"])
    eve = queue["eve"]

    empty = web.post(f"/ops/kyc/reviews/{eve.pk}/request-documents/", {"message": "Please"}, follow=True)
    assert "Nothing was requested." in empty.content.decode()
    response = web.post(
        f"/ops/kyc/reviews/{eve.pk}/request-documents/",
        {"kinds": ["selfie", "proof_of_address"], "message": "The selfie is blurred."},
        follow=True,
    )

    assert "Documents requested" in response.content.decode()
    with tenant_context(alpha):
        request = DocumentRequest.objects.get()
        assert (request.client_id, request.kinds, request.message) == (
            eve.client_id,
            ["selfie", "proof_of_address"],
            "The selfie is blurred.",
        )
        assert Client.objects.get(pk=eve.client_id).kyc_status == Client.KycStatus.DOCUMENTS_REQUESTED


def test_only_compliance_decides_watchlist_hits_and_a_false_positive_needs_a_note(alpha, people, queue):
    anna = queue["anna"]
    with tenant_context(alpha):
        hit = ScreeningHit.objects.get(client=anna.client)
    url = f"/ops/kyc/reviews/{anna.pk}/hits/{hit.pk}/decide/"

    assert (
        tenant_web_client(alpha, people["sue"]).post(url, {"decision": "false_positive", "note": "x"}).status_code
        == 403
    )
    cora = tenant_web_client(alpha, people["cora"])
    no_note = cora.post(url, {"decision": "false_positive", "note": " "}, follow=True)
    assert "The hit was not decided." in no_note.content.decode()
    with tenant_context(alpha):
        assert ScreeningHit.objects.get(pk=hit.pk).status == ScreeningHit.Status.OPEN

    done = cora.post(url, {"decision": "false_positive", "note": "Born 1961; Anna is 35"}, follow=True)

    assert "marked as a false positive" in done.content.decode()
    with tenant_context(alpha):
        hit.refresh_from_db()
        assert (hit.status, hit.decided_by, hit.decision_note) == (
            "false_positive",
            people["cora"],
            "Born 1961; Anna is 35",
        )


def test_a_hit_of_another_client_cannot_be_decided_through_this_review(alpha, people, queue):
    with tenant_context(alpha):
        hit = ScreeningHit.objects.get(client=queue["anna"].client)

    response = tenant_web_client(alpha, people["cora"]).post(
        f"/ops/kyc/reviews/{queue['eve'].pk}/hits/{hit.pk}/decide/", {"decision": "confirmed"}
    )

    assert response.status_code == 404


def test_accepting_and_rejecting_a_document_from_the_review(alpha, people, alpha_documents_ready):
    review, document = alpha_documents_ready
    web = tenant_web_client(alpha, people["sue"])

    refused = web.post(f"/ops/kyc/reviews/{review.pk}/documents/{document.pk}/reject/", {"reason": ""}, follow=True)
    assert "The document was not rejected." in refused.content.decode()
    web.post(f"/ops/kyc/reviews/{review.pk}/documents/{document.pk}/accept/")

    with tenant_context(alpha):
        document.refresh_from_db()
        assert (document.status, document.reviewed_by) == (Document.Status.ACCEPTED, people["sue"])


@pytest.fixture
def alpha_documents_ready(alpha, people):
    with tenant_context(alpha):
        review = waiting_file("nina@alpha.test", document_status=Document.Status.NEEDS_REVIEW)
        return review, Document.objects.get(client=review.client, kind=Document.Kind.PASSPORT)


# Watchlists and the dashboard ------------------------------------------------------------------------------


def test_the_watchlists_page_shows_current_versions_and_history(alpha, people):
    ListVersion.objects.create(source="demo", format="json", file_name="old.json", sha256="0" * 64, entry_count=10)
    ListVersion.objects.create(
        source="demo",
        format="json",
        file_name="sample.json",
        sha256="1" * 64,
        entry_count=12,
        added=3,
        changed=1,
        removed=1,
        is_current=True,
    )

    page = tenant_web_client(alpha, people["cora"]).get("/ops/kyc/watchlists/")

    assert page.status_code == 200
    html = page.content.decode()
    assert [v.file_name for v in page.context["current"]] == ["sample.json"]
    assert [v.file_name for v in page.context["history"]] == ["sample.json", "old.json"]
    assert "Demo sample" in html and "superseded" in html
    assert 'id="rescreen-progress"' in html


@pytest.mark.parametrize(("who", "status"), [("cora", 200), ("sue", 403), ("sam", 403)])
def test_the_watchlists_page_is_for_compliance_and_kyc_managers(alpha, people, who, status):
    assert tenant_web_client(alpha, people[who]).get("/ops/kyc/watchlists/").status_code == status


def test_the_dashboard_card_reads_the_queue_with_visibility(alpha, people, queue, monkeypatch):
    from brokerage import dashboard

    cache = LocMemCache("kyc-card-test", {})  # not the shared Redis: other test runs use the same keys
    monkeypatch.setattr(dashboard, "cache", cache)
    with tenant_context(alpha):
        everyone = pending_reviews(people["cora"])
        sal = pending_reviews(people["sal"])
        Review.objects.filter(pk=queue["anna"].pk).update(opened_at=timezone.now() - timedelta(hours=13))
        Review.objects.filter(pk=queue["dora"].pk).update(opened_at=timezone.now() - timedelta(hours=13))
        kept = pending_reviews(people["cora"])
        cache.clear()
        calmer = pending_reviews(people["cora"])

    assert everyone.value == 4
    assert everyone.detail.startswith("oldest waiting 2 d 2 h")
    assert everyone.tone == "alert"
    assert [(f.label, f.value) for f in everyone.figures[1:]] == [("Over the SLA", 2), ("Second approval", 1)]
    assert (sal.value, sal.tone) == (1, "")
    assert kept.tone == "alert"  # the figure is kept for a minute
    assert calmer.tone == "warn"
