"""KYC's figures on the ops dashboard: the review queue as the people working it see it."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, Max, Min, Q, Subquery, Value
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils import timezone

from brokerage.dashboard import Card, Figure, Reading, age_text, cached_figure, register_card
from crm.links import client_list_url
from crm.models import Client
from crm.visibility import clients_visible_to, visibility_filter
from kyc.models import KycSettings, Review
from kyc.review import review_scope

SLA_DEFAULT = KycSettings._meta.get_field("review_sla_hours").default


def pending_reviews(user) -> Reading:
    """Open reviews of the clients `user` may see, with the longest wait against the tenant's SLA.

    Reviews, not `Client.kyc_status == pending`: the queue is what staff work from, its clock starts
    when the file was submitted, and it also holds approved clients whom monitoring sent back (a new
    watchlist hit) while their status stays approved. Both figures are kept for a minute, like the
    rest of the dashboard's client counts: it is everyone's first page and reloads often.
    """
    scope = "all" if visibility_filter(user) is None else f"user{user.pk}"

    def read_queue() -> dict:
        # The tenant's SLA is read inside the same statement (the field's default while the settings row
        # is not created yet): one query for the whole card.
        sla = ExpressionWrapper(
            Coalesce(Subquery(KycSettings.objects.filter(pk=1).values("review_sla_hours")[:1]), Value(SLA_DEFAULT))
            * Value(timedelta(hours=1)),
            output_field=DurationField(),
        )
        overdue_before = ExpressionWrapper(Now() - sla, output_field=DateTimeField())
        return review_scope(user, Review.objects.filter(status__in=Review.OPEN_STATUSES)).aggregate(
            count=Count("id"),
            oldest=Min("opened_at"),
            sla=Max(sla),
            overdue=Count("id", filter=Q(opened_at__lt=overdue_before)),
            second=Count("id", filter=Q(status=Review.Status.AWAITING_SECOND)),
        )

    queue = cached_figure(f"kyc_queue:{scope}", read_queue)
    registered = cached_figure(
        f"kyc_registered:{scope}",
        lambda: clients_visible_to(user).filter(status=Client.Status.REGISTERED).count(),
    )
    oldest, sla, now = queue["oldest"], queue["sla"], timezone.now()
    waited = (now - oldest) if oldest else timedelta(0)
    home = reverse("ops:kyc_home")
    return Reading(
        value=queue["count"],
        url=home,
        detail=f"oldest waiting {age_text(oldest, now)}" if oldest else "nobody waits for a review",
        figures=[
            Figure(
                "Awaiting verification",
                registered,
                client_list_url(status=Client.Status.REGISTERED),
                detail="registered, not verified",
            ),
            Figure(
                "Over the SLA",
                queue["overdue"],
                f"{home}?overdue=on",
                detail=f"waiting over {sla.total_seconds() / 3600:.0f} h" if sla else "nobody waits",
            ),
            Figure("Second approval", queue["second"], f"{home}?second=on", detail="high risk, one approval given"),
        ],
        tone="" if sla is None else "alert" if waited > sla else "warn" if waited > sla / 2 else "",
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
        help="KYC files waiting for a person in the review queue (oldest first against the review SLA), "
        "and registered clients who have not been verified.",
    )
)
