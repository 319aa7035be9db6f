"""KYC's figures on the ops dashboard."""

from __future__ import annotations

from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from brokerage.dashboard import Card, Figure, Reading, age_text, cached_figure, register_card
from crm.links import client_list_url
from crm.models import Client
from crm.visibility import clients_visible_to, visibility_filter


def pending_reviews(user) -> Reading:
    """Clients whose KYC is under review, with the longest wait (since the status changed, or since the
    client was created when that moment was not recorded); and registered clients not yet verified."""
    scope = "all" if visibility_filter(user) is None else f"user{user.pk}"
    # Pending reviews read the partial index crm_client_kyc_pending; "registered" is a large share of all
    # clients (a status-index scan). Both are kept for a minute: the dashboard is everyone's first page.
    pending = cached_figure(
        f"kyc_pending:{scope}",
        lambda: (
            clients_visible_to(user)
            .filter(kyc_status=Client.KycStatus.PENDING)
            .aggregate(count=Count("id"), oldest=Min(Coalesce("kyc_status_changed_at", "created_at")))
        ),
    )
    registered = cached_figure(
        f"kyc_registered:{scope}",
        lambda: clients_visible_to(user).filter(status=Client.Status.REGISTERED).count(),
    )
    oldest = pending["oldest"]
    waited = (timezone.now() - oldest).total_seconds() if oldest else 0
    return Reading(
        value=pending["count"],
        url=client_list_url(kyc_status=Client.KycStatus.PENDING),
        detail=f"oldest waiting {age_text(oldest)}" if oldest else "nobody waits for a review",
        figures=[
            Figure("Awaiting verification", registered, reverse("ops:kyc_home"), detail="registered, not verified")
        ],
        tone="alert" if waited > 72 * 3600 else "warn" if waited > 24 * 3600 else "",
    )


register_card(
    Card(
        "Pending KYC reviews",
        "kyc_review",
        lambda user: pending_reviews(user).value,
        "ops:kyc_home",
        20,
        reading=pending_reviews,
        needs_user=True,
        group="Waiting",
        help="Clients whose documents wait for a review, and registered clients who have not been verified.",
    )
)
