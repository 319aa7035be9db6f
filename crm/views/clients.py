"""Client list, client 360 page, its timeline and the profile edit page."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.timezone import localtime
from django_countries import countries

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from crm import selectors
from crm.assignment import can_reassign
from crm.client_forms import ClientFilterForm, ClientProfileForm
from crm.models import Client, TimelineEvent
from crm.panels import panels_for
from crm.phones import phone_display
from crm.profile import client_update
from crm.visibility import can_change, client_visible_or_404

PAGE_SIZE = 25
TIMELINE_SIZE = 50
_FILTERS = (
    "q",
    "status",
    "country",
    "source",
    "tag",
    "agent",
    "lead_stage",
    "kyc_status",
    "created_from",
    "created_to",
    "ftd_from",
    "ftd_to",
    "source_detail",
)


def _segment_clients(user, segment_id: int):
    from crm.models import Segment
    from crm.segments import segment_clients  # imported only when a segment is asked for

    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise Http404("No such segment")
    return segment, segment_clients(segment, user)


@capability_required("crm_view_client")
def client_list(request):
    form = ClientFilterForm(request.GET or None, user=request.user)
    data = {}
    if form.is_bound:
        form.is_valid()  # a filter that does not parse (a mistyped date) is left out; the others apply
        data = form.cleaned_data
    segment, base = None, None
    if data.get("segment"):
        segment, base = _segment_clients(request.user, data["segment"])
    clients = selectors.client_list(
        user=request.user,
        queryset=base,
        search=data.get("q", ""),
        status=data.get("status", ""),
        country=data.get("country", ""),
        source=data.get("source", ""),
        tag=data.get("tag", ""),
        agent=data.get("agent") or None,
        lead_stage=data.get("lead_stage", ""),
        kyc_status=data.get("kyc_status", ""),
        created_from=data.get("created_from"),
        created_to=data.get("created_to"),
        ftd_from=data.get("ftd_from"),
        ftd_to=data.get("ftd_to"),
        source_detail=data.get("source_detail", ""),
        sort=data.get("sort") or "newest",
    )
    # No COUNT: one row more than a page says whether there is a next one.
    try:
        number = max(1, min(int(request.GET.get("page", 1)), 400))
    except ValueError:
        number = 1
    rows = list(clients[(number - 1) * PAGE_SIZE : number * PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for client in rows:
        client.phone_shown = phone_display(client.phone)
    query = {key: value for key, value in request.GET.items() if key != "page" and value}
    context = {
        "form": form,
        "clients": rows,
        "number": number,
        "has_next": has_next,
        "first_row": (number - 1) * PAGE_SIZE + 1,
        "last_row": (number - 1) * PAGE_SIZE + len(rows),
        "query": urlencode(query),
        "segment": segment,
        "filtered": any(data.get(key) for key in _FILTERS),
        "can_reassign": can_reassign(request.user),
    }
    template = (
        "crm/_client_rows.html" if request.htmx and request.htmx.target == "client-rows" else "crm/client_list.html"
    )
    return render(request, template, context)


def _timeline_params(request) -> dict:
    kinds = [kind for kind in request.GET.getlist("kind") if kind in TimelineEvent.Kind.values]
    search = request.GET.get("tq", "").strip()[:100]
    before = None
    if cursor := request.GET.get("before", ""):
        at, _, pk = cursor.rpartition("|")
        try:
            before = (datetime.fromisoformat(at), int(pk))
        except ValueError:
            before = None
    return {"kinds": kinds, "search": search, "before": before}


def _timeline_context(client, params) -> dict:
    events, cursor = selectors.client_timeline(client, size=TIMELINE_SIZE, **params)
    for event in events:  # strftime, not 100 |date filters: a tenth of the 360 page's template time
        at = localtime(event.occurred_at)
        event.when_shown, event.when_full = at.strftime("%Y-%m-%d %H:%M"), at.strftime("%Y-%m-%d %H:%M:%S %Z")
    more = ""
    if cursor is not None:
        query = [("kind", kind) for kind in params["kinds"]]
        if params["search"]:
            query.append(("tq", params["search"]))
        query.append(("before", f"{cursor[0].isoformat()}|{cursor[1]}"))
        more = urlencode(query)
    return {
        "events": events,
        "more": more,
        "kinds": TimelineEvent.Kind.choices,
        "chosen_kinds": params["kinds"],
        "timeline_search": params["search"],
    }


@capability_required("crm_view_client")
def client_detail(request, client_id: int):
    client = client_visible_or_404(
        request.user, client_id, Client.objects.select_related("sales_agent", "retention_agent")
    )
    panels = panels_for(request.user, client)
    alerts = [alert for panel in panels for alert in panel.get("alerts", [])]
    if client.kyc_status == Client.KycStatus.REJECTED:
        alerts.append({"text": "KYC rejected", "url": ""})
    if client.risk_level == Client.RiskLevel.HIGH:
        alerts.append({"text": "High risk client", "url": ""})
    context = {
        "client": client,
        "phone_shown": phone_display(client.phone),
        "residence": countries.name(client.country) if client.country else "",
        "nationality": countries.name(client.nationality) if client.nationality else "",
        "panels": panels,
        "alerts": alerts,
        "can_change": can_change(request.user, client),
        **_timeline_context(client, _timeline_params(request)),
    }
    return render(request, "crm/client_detail.html", context)


@capability_required("crm_view_client")
def client_timeline(request, client_id: int):
    client = client_visible_or_404(request.user, client_id)
    params = _timeline_params(request)
    context = {"client": client, "appending": params["before"] is not None, **_timeline_context(client, params)}
    return render(request, "crm/_client_timeline.html", context)


@capability_required("crm_change_client")
def client_edit(request, client_id: int):
    client = client_visible_or_404(request.user, client_id)
    if not can_change(request.user, client):
        raise PermissionDenied
    form = ClientProfileForm.for_client(client, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            client_update(actor=request.user, client=client, changes=form.changes())
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Profile saved.")
            return redirect("ops:crm_client_detail", client_id=client.pk)
    return render(request, "crm/client_edit.html", {"client": client, "form": form})
