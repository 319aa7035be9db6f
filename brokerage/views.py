"""Kernel pages of the ops dashboard: home, staff, audit trail, API token."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found
from rest_framework.authtoken.models import Token

from brokerage import selectors
from brokerage import staff as staff_services
from brokerage.errors import ApplicationError, error_body
from brokerage.models import AuditRecord
from brokerage.permissions import capability_required
from brokerage.roles import STAFF_ROLES, Role, perm

STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r in STAFF_ROLES]


def not_found(request, exception):
    """404 for the tenant domains: the API's JSON error shape under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


@login_required
def home(request):
    """Send each person to the portal their role opens."""
    user = request.user
    if user.has_perm(perm("ops_access")):
        return redirect("ops:dashboard")
    if user.has_perm(perm("partner_portal_access")):
        return redirect("partners:home")
    if user.has_perm(perm("portal_access")):
        return redirect("portal:home")
    return render(request, "no_role.html", status=403)


@capability_required("ops_access")
def dashboard(request):
    from brokerage.dashboard import cards_for, cards_grouped

    cards = cards_for(request)
    return render(request, "ops/dashboard.html", {"cards": cards, "groups": cards_grouped(cards)})


@capability_required("ops_access")
def search(request):
    """The global search box: grouped hits; `go=1` (Enter in the box) opens a single exact hit directly.
    With htmx (typeahead) only the dropdown is rendered."""
    from brokerage.search import search_all, search_jump

    query = request.GET.get("q", "").strip()[:100]
    groups = search_all(query, request.user)
    if request.GET.get("go") and not request.htmx and (target := search_jump(groups)):
        return redirect(target)
    context = {"query": query, "groups": groups, "too_short": 0 < len(query) < 2}
    template = "ops/_search_results.html" if request.htmx else "ops/search.html"
    return render(request, template, context)


@capability_required("staff_manage")
def jobs(request):
    """Failed background work: task failures to mark resolved, given-up events to send again."""
    from brokerage import jobs as job_services
    from brokerage.models import FailedJob, OutboxEvent

    if request.method == "POST":
        try:
            if "resolve" in request.POST:
                job = get_object_or_404(FailedJob, pk=_int_or_404(request.POST["resolve"]))
                job_services.failed_job_resolve(actor=request.user, job=job)
                messages.success(request, f"{job.task_name}: marked resolved.")
            elif "retry" in request.POST:
                event = get_object_or_404(OutboxEvent, pk=_int_or_404(request.POST["retry"]))
                job_services.outbox_event_retry(actor=request.user, event=event)
                messages.success(request, f"Event {event} sent again.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect("ops:jobs")
    show_resolved = request.GET.get("show") == "resolved"
    page = Paginator(job_services.failed_jobs(resolved=show_resolved), 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show_resolved": show_resolved,
        "query": "show=resolved" if show_resolved else "",
        "events": job_services.outbox_gave_up()[:100],
        "counts": job_services.failed_counts(),
        "max_attempts": job_services.MAX_DISPATCH_ATTEMPTS,
    }
    return render(request, "ops/jobs.html", context)


def _int_or_404(text: str) -> int:
    from django.http import Http404

    try:
        return int(text)
    except (TypeError, ValueError):
        raise Http404("Not found") from None


class StaffInviteForm(forms.Form):
    email = forms.EmailField()
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    roles = forms.MultipleChoiceField(choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class StaffRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


@capability_required("staff_manage")
def staff_list(request):
    people = selectors.staff_list()
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_services.staff_invite(
                **form.cleaned_data, actor=request.user, domain=request.get_host().split(":")[0]
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Invitation sent to {user.email}.")
            return redirect("ops:staff_list")
    return render(request, "ops/staff_list.html", {"people": people, "form": form})


@capability_required("staff_manage")
def staff_detail(request, user_id: int):
    person = get_object_or_404(selectors.staff_list(), pk=user_id)
    form = StaffRolesForm(request.POST or None, initial={"roles": sorted(person.role_names)})
    if request.method == "POST" and form.is_valid():
        try:
            staff_services.staff_set_roles(user=person, roles=form.cleaned_data["roles"], actor=request.user)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Roles of {person.email} saved.")
            return redirect("ops:staff_detail", user_id=person.pk)
    return render(request, "ops/staff_detail.html", {"person": person, "form": form})


@require_POST
@capability_required("staff_manage")
def staff_set_active(request, user_id: int):
    person = get_object_or_404(selectors.staff_list(), pk=user_id)
    activate = request.POST.get("active") == "1"
    try:
        staff_services.staff_set_active(user=person, is_active=activate, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{person.email} {'reactivated' if activate else 'deactivated'}.")
    return redirect("ops:staff_detail", user_id=person.pk)


def _date_or_none(text: str):
    """A filter date, or None when empty or not a real date (2026-02-30)."""
    try:
        return parse_date(text)
    except ValueError:
        return None


@capability_required("audit_view")
def audit_list(request):
    records = AuditRecord.objects.all()
    filters = {key: request.GET.get(key, "").strip() for key in ("actor", "action", "object_type", "since", "until")}
    if filters["actor"]:
        records = records.filter(actor_email__icontains=filters["actor"])
    if filters["action"]:
        records = records.filter(action__istartswith=filters["action"])
    if filters["object_type"]:
        records = records.filter(object_type=filters["object_type"])
    if since := _date_or_none(filters["since"]):
        records = records.filter(occurred_at__date__gte=since)
    if until := _date_or_none(filters["until"]):
        records = records.filter(occurred_at__date__lte=until)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    object_types = AuditRecord.objects.order_by().values_list("object_type", flat=True).distinct()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "object_types": sorted(filter(None, object_types)),
        "query": query.urlencode(),
    }
    template = "ops/_audit_rows.html" if request.htmx else "ops/audit_list.html"
    return render(request, template, context)


@capability_required("ops_access")
def api_token(request):
    new_key = None
    if request.method == "POST":
        had_token = Token.objects.filter(user=request.user).exists()
        new_key = staff_services.api_token_issue(user=request.user)
        messages.success(
            request,
            "A new API token was issued; the previous one no longer works." if had_token else "API token issued.",
        )
    token = Token.objects.filter(user=request.user).first()
    return render(request, "ops/api_token.html", {"token": token, "new_key": new_key})
