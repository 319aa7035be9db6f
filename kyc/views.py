"""Ops KYC pages: the review queue (oldest first against the SLA), recent decisions, the watchlists."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from crm.models import Client
from kyc.forms import QueueFilterForm
from kyc.models import KycSettings, RescreenJob, Review
from kyc.review import review_queue, reviews_visible_to
from kyc.screening import rescreen_job_resume, rescreen_progress
from watchlists.models import ListVersion

DECIDED_DAYS = 30


def _queue_counts(user, overdue_before) -> dict:
    return reviews_visible_to(user, Review.objects.filter(status__in=Review.OPEN_STATUSES)).aggregate(
        total=Count("id"),
        second=Count("id", filter=Q(status=Review.Status.AWAITING_SECOND)),
        overdue=Count("id", filter=Q(opened_at__lt=overdue_before)),
        high=Count("id", filter=Q(client__risk_level=Client.RiskLevel.HIGH)),
        hits=Count("id", filter=Q(open_hits__gt=0)),
    )


@capability_required("kyc_review")
def kyc_home(request):
    """The review queue: open reviews of the clients this person may see, oldest first."""
    sla_hours = KycSettings.current().review_sla_hours
    overdue_before = timezone.now() - timedelta(hours=sla_hours)
    tab = "decided" if request.GET.get("tab") == "decided" else "open"
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    if tab == "decided":
        since = timezone.now() - timedelta(days=DECIDED_DAYS)
        reviews = reviews_visible_to(
            request.user, Review.objects.exclude(status__in=Review.OPEN_STATUSES).filter(decided_at__gte=since)
        ).order_by("-decided_at", "-id")
    else:
        reviews = review_queue(
            request.user,
            risk=filters.get("risk", ""),
            awaiting_second=filters.get("second", False),
            overdue_before=overdue_before if filters.get("overdue") else None,
            with_hits=filters.get("hits", False),
        )
    page = Paginator(reviews, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "tab": tab,
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "sla_hours": sla_hours,
        "overdue_before": overdue_before,
        "counts": _queue_counts(request.user, overdue_before),
        "decided_days": DECIDED_DAYS,
    }
    if request.htmx and tab == "open":
        return render(request, "kyc/_queue_rows.html", context)
    return render(request, "kyc/queue.html", context)


def _may_see_watchlists(user) -> bool:
    return user.has_perm(perm("kyc_manage")) or user.has_perm(perm("kyc_compliance"))


def kyc_watchlists(request):
    """The lists screening reads: current version per source with what changed, the load history, and
    the progress of re-screening clients after the last load."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not _may_see_watchlists(request.user):
        raise PermissionDenied
    current = list(ListVersion.objects.filter(is_current=True).order_by("source"))
    history = Paginator(ListVersion.objects.order_by("-loaded_at", "-id"), 25).get_page(request.GET.get("page"))
    context = {
        "current": current,
        "history": history,
        "entries": sum(version.entry_count for version in current),
        "rescreen": rescreen_progress(),
    }
    return render(request, "kyc/watchlists.html", context)


def kyc_rescreen_progress(request):
    """HTMX: the re-screening progress partial alone, for polling while a job runs."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not _may_see_watchlists(request.user):
        raise PermissionDenied
    return render(request, "kyc/_rescreen_progress.html", {"rescreen": rescreen_progress()})


@require_POST
@capability_required("kyc_manage")
def kyc_rescreen_resume(request, job_id):
    """Send a failed or stuck re-screening job again; it carries on after the last client it committed."""
    job = get_object_or_404(RescreenJob, pk=job_id)
    try:
        rescreen_job_resume(actor=request.user, job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Re-screening sent again: it carries on where it stopped.")
    return redirect("ops:kyc_watchlists")
