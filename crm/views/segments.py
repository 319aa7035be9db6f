"""Segments under /ops/crm/segments/ (list, builder with live preview, detail, CSV export) and the
bulk action endpoint /ops/crm/bulk/ shared with the client list."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from brokerage.audit import audit_log
from brokerage.csv_export import csv_download, csv_safe
from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from crm import bulk, segments
from crm.models import Client, Segment
from crm.segment_criteria import criteria_describe, criteria_grouped, criterion_get, criterion_title
from crm.visibility import clients_visible_to

_ROW_KEY = re.compile(r"^c-(\d{1,3})-key$")
CHECKBOXES_UP_TO = 12


# The criteria builder ----------------------------------------------------------------------------


def _posted_rows(data) -> list[dict]:
    """The builder's rows as posted: c-<n>-key plus c-<n>-<param> (repeated for several values)."""
    indexes = sorted(int(m.group(1)) for name in data for m in [_ROW_KEY.match(name)] if m)
    rows = []
    for index in indexes:
        key = data.get(f"c-{index}-key", "")
        criterion = criterion_get(key)
        params = {}
        if criterion is not None:
            for param in criterion.params:
                name = f"c-{index}-{param.name}"
                params[param.name] = data.getlist(name) if param.kind == "multichoice" else data.get(name, "")
        rows.append({"index": index, "key": key, "params": params})
    return rows


def _stored_rows(criteria: list[dict]) -> list[dict]:
    return [
        {"index": index, "key": item.get("key", ""), "params": dict(item.get("params") or {})}
        for index, item in enumerate(criteria if isinstance(criteria, list) else [])
    ]


def _criteria(rows: list[dict]) -> list[dict]:
    return [{"key": row["key"], "params": row["params"]} for row in rows]


def _row_views(rows: list[dict], errors: dict | None = None) -> list[dict]:
    """What the template draws per row: the criterion's title, its inputs with values, and its error."""
    errors = errors or {}
    views = []
    for position, row in enumerate(rows):
        criterion = criterion_get(row["key"])
        inputs = []
        for param in criterion.params if criterion else ():
            value = row["params"].get(param.name, "")
            options = param.options() if param.kind in ("choice", "multichoice") else []
            chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
            inputs.append(
                {
                    "param": param,
                    "name": f"c-{row['index']}-{param.name}",
                    "id": f"c-{row['index']}-{param.name}",
                    "value": "" if isinstance(value, list) else value,
                    "options": [(v, label, v in chosen) for v, label in options],
                    "checkboxes": param.kind == "multichoice" and len(options) <= CHECKBOXES_UP_TO,
                }
            )
        views.append(
            {
                "index": row["index"],
                "key": row["key"],
                "title": criterion_title(criterion) if criterion else f"Unknown criterion {row['key']!r}",
                "group": criterion.group if criterion else "",
                "inputs": inputs,
                "errors": errors.get(f"criteria_{position}", []),
            }
        )
    return views


def _builder(request, *, segment: Segment | None):
    """The create/edit page. Posted `op`: add (a criterion), remove-<n>, save."""
    if request.method == "POST":
        rows = _posted_rows(request.POST)
        name, description = request.POST.get("name", ""), request.POST.get("description", "")
        op = request.POST.get("op", "save")
        errors: dict = {}
        if op == "add":
            key = request.POST.get("add", "")
            if criterion_get(key) is None:
                errors["add"] = ["Choose a criterion to add."]
            else:
                rows.append({"index": max((r["index"] for r in rows), default=-1) + 1, "key": key, "params": {}})
        elif op.startswith("remove-"):
            rows = [row for row in rows if f"remove-{row['index']}" != op]
        else:
            try:
                saved = segments.segment_save(
                    actor=request.user, segment=segment, name=name, description=description, criteria=_criteria(rows)
                )
            except ApplicationError as error:
                errors = {**(error.fields or {}), "general": [error.message]}
            else:
                messages.success(request, f"Segment “{saved.name}” saved.")
                return redirect("ops:crm_segment_detail", saved.pk)
        response = render(
            request,
            "crm/segments/form.html",
            _builder_context(request.user, segment, name, description, rows, errors),
        )
        if op != "save":
            # After the swap: the preview re-posts the form, which must hold the added/removed row by then
            # (a plain HX-Trigger fires before the swap and counted the old criteria).
            response["HX-Trigger-After-Settle"] = "criteria-changed"
        return response
    if segment is None:
        name, description, rows = "", "", []
    else:
        name, description, rows = segment.name, segment.description, _stored_rows(segment.criteria)
    return render(
        request, "crm/segments/form.html", _builder_context(request.user, segment, name, description, rows, {})
    )


def _builder_context(user, segment, name, description, rows, errors) -> dict:
    return {
        "segment": segment,
        "name": name,
        "description": description,
        "rows": _row_views(rows, errors),
        "groups": [(group, [(c.key, criterion_title(c)) for c in items]) for group, items in criteria_grouped(user)],
        "errors": errors,
    }


@capability_required("crm_change_client")
def segment_create(request):
    return _builder(request, segment=None)


@capability_required("crm_change_client")
def segment_edit(request, segment_id: int):
    segment = get_object_or_404(Segment, pk=segment_id)
    if not segments.segment_can_change(request.user, segment):
        raise PermissionDenied
    return _builder(request, segment=segment)


@capability_required("crm_view_client")
@require_POST
def segment_preview(request):
    """htmx: the count and the newest ten clients the builder's criteria match, for the viewer."""
    criteria = _criteria(_posted_rows(request.POST))
    context: dict = {"ready": bool(criteria)}
    if criteria:
        try:
            context["count"], context["clients"] = segments.segment_preview(criteria, request.user)
        except ApplicationError as error:
            context["error"] = error.message
    return render(request, "crm/segments/_preview.html", context)


# List, detail, count, delete, export -------------------------------------------------------------


@capability_required("crm_view_client")
def segment_list(request):
    rows = [
        {
            "segment": segment,
            "lines": criteria_describe(segment.criteria),
            "problem": segments.segment_problem(segment, request.user),
        }
        for segment in Segment.objects.select_related("created_by")
    ]
    return render(
        request,
        "crm/segments/list.html",
        {"rows": rows, "can_create": request.user.has_perm(perm("crm_change_client"))},
    )


@capability_required("crm_view_client")
def segment_count(request, segment_id: int):
    """htmx: the members the viewer can see, counted apart so a big segment never slows the list."""
    segment = get_object_or_404(Segment, pk=segment_id)
    count = segments.segment_clients(segment, request.user).count()
    return HttpResponse(f"{count:,}", content_type="text/plain; charset=utf-8")


@capability_required("crm_view_client")
def segment_detail(request, segment_id: int):
    segment = get_object_or_404(Segment.objects.select_related("created_by"), pk=segment_id)
    members = segments.segment_clients(segment, request.user).select_related("sales_agent")
    return render(
        request,
        "crm/segments/detail.html",
        {
            "segment": segment,
            "lines": criteria_describe(segment.criteria),
            "problem": segments.segment_problem(segment, request.user),
            "newest": list(members.order_by("-created_at", "-id")[: segments.PREVIEW_SIZE]),
            "can_change": segments.segment_can_change(request.user, segment),
            "members_url": f"{reverse('ops:crm_client_list')}?segment={segment.pk}",
        },
    )


@capability_required("crm_change_client")
@require_POST
def segment_delete(request, segment_id: int):
    segment = get_object_or_404(Segment, pk=segment_id)
    if not segments.segment_can_change(request.user, segment):
        raise PermissionDenied
    name = segment.name
    segments.segment_delete(actor=request.user, segment=segment)
    messages.success(request, f"Segment “{name}” deleted.")
    return redirect("ops:crm_segments")


@capability_required("crm_change_client")
@require_POST
def segment_examples(request):
    created = segments.segment_examples_ensure(actor=request.user)
    messages.success(request, f"{len(created)} example segment{'s' if len(created) != 1 else ''} added.")
    return redirect("ops:crm_segments")


CSV_HEADER = ["id", "name", "email", "phone", "country", "status", "agent", "FTD date", "last activity"]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@capability_required("crm_view_client")
def segment_export(request, segment_id: int):
    """The members the viewer may see, streamed; the export itself is audited."""
    segment = get_object_or_404(Segment, pk=segment_id)
    members = segments.segment_clients(segment, request.user).order_by("pk")
    audit_log(
        actor=request.user,
        action="crm.segment.exported",
        obj=segment,
        after={"rows": members.count(), "criteria": segment.criteria},
    )
    rows = members.values_list(
        "pk",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "country",
        "status",
        "sales_agent__email",
        "first_deposit_at",
        "last_activity_at",
    ).iterator(chunk_size=2000)
    statuses = dict(Client.Status.choices)

    def lines():
        for pk, first, last, company, email, phone, country, status, agent, ftd, activity in rows:
            yield [
                pk,
                csv_safe(company or f"{first} {last}".strip()),
                csv_safe(email),
                csv_safe(phone),
                csv_safe(country),
                statuses.get(status, status),
                csv_safe(agent or ""),
                _when(ftd),
                _when(activity),
            ]

    slug = re.sub(r"[^a-z0-9]+", "-", segment.name.lower()).strip("-")[:40] or "segment"
    return csv_download(f"segment-{slug}", CSV_HEADER, lines())


# Bulk actions ------------------------------------------------------------------------------------


def _next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@capability_required("crm_view_client")
@require_POST
def bulk_action(request):
    """Run a bulk action over ticked clients (`client`) or a whole segment (`segment`), asking for a
    confirmation first when it touches more than bulk.CONFIRM_ABOVE clients."""
    segment = None
    if request.POST.get("segment"):
        try:
            segment = get_object_or_404(Segment, pk=int(request.POST["segment"]))
        except ValueError:
            segment = None
    fallback = reverse("ops:crm_segment_detail", args=[segment.pk]) if segment else reverse("ops:crm_client_list")
    target = _next(request, fallback)
    if segment is not None:
        # The segment's members stay a QuerySet (a subquery): never a list of every id.
        clients = segments.segment_clients(segment, request.user)
        count = clients.count()
    else:
        wanted = bulk.ids_parse(request.POST.getlist("client"))
        clients = list(clients_visible_to(request.user).filter(pk__in=wanted).values_list("pk", flat=True))
        count = len(clients)
    action = request.POST.get("action", "")
    params = {name: request.POST.get(name, "") for name in ("agent", "tag", "template")}
    if count > bulk.CONFIRM_ABOVE and request.POST.get("confirmed") != str(count):
        return render(
            request,
            "crm/segments/bulk_confirm.html",
            {
                "count": count,
                "segment": segment,
                "action_label": bulk.ACTION_LABELS.get(action, action),
                "fields": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name not in ("csrfmiddlewaretoken", "confirmed")
                    for value in values
                ],
                "next": target,
            },
        )
    try:
        result = bulk.bulk_run(
            actor=request.user,
            action=action,
            client_ids=clients,
            params=params,
            segment_id=segment.pk if segment is not None else None,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, result.message)
    return redirect(target)
