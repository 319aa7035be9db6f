"""The KYC panel of the CRM client 360 page: status, level, risk and why, documents, hits, review.

Shown to holders of kyc_review: risk reasons and document statuses are compliance matters, not for
every colleague who may open the client (a sales agent sees the KYC status in the page's header).
"""

from __future__ import annotations

from django.urls import reverse

from crm.panels import Panel, register_panel
from kyc.models import Document, Review, RiskAssessment, ScreeningHit
from kyc.requirements import client_level, requirement_states

TOP_REASONS = 3
DOCUMENTS_SHOWN = 10


def _context(client) -> dict:
    states = requirement_states(client)
    assessment = RiskAssessment.objects.filter(client=client).first()
    reasons = []
    if assessment:
        reasons = sorted(assessment.reasons, key=lambda reason: -int(reason.get("points") or 0))[:TOP_REASONS]
    review = Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).first()
    documents = list(client.kyc_documents.exclude(status=Document.Status.REPLACED)[:DOCUMENTS_SHOWN])
    return {
        "kyc_status": client.get_kyc_status_display(),
        "kyc_status_code": client.kyc_status,
        "level": client_level(client, states),
        "requirements": list(states.values()),
        "assessment": assessment,
        "risk_reasons": reasons,
        "documents": documents,
        "open_hits": client.screening_hits.filter(status=ScreeningHit.Status.OPEN).count(),
        "review": review,
        "review_url": reverse("ops:kyc_review", args=[review.pk]) if review else "",
    }


register_panel(Panel("kyc", "KYC", "kyc_review", "kyc/_client_panel.html", _context, order=5))
