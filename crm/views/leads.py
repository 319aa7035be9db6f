"""/ops/crm/leads/: the pipeline, a new lead by hand, and CSV imports (upload, mapping, progress, report)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from brokerage.csv_export import csv_download, csv_safe
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.permissions import capability_required
from brokerage.roles import STAFF_ROLES, perm
from crm import lead_import as imports
from crm.assignment import agents_all
from crm.lead_forms import LeadForm, LeadUploadForm, MappingForm, StageForm
from crm.leads import DuplicateLead, lead_create, lead_stage_set
from crm.links import client_url
from crm.models import Client, LeadImport
from crm.phones import phone_display
from crm.visibility import client_visible_or_404, clients_visible_to

Stage = Client.LeadStage
PAGE_SIZE = 25


def _pipeline_leads(user):
    """Leads the user may see: open, lost and converted (a converted lead is a registered client now)."""
    return clients_visible_to(user, Client.objects.filter(Q(status=Client.Status.LEAD) | Q(lead_stage=Stage.CONVERTED)))


def _next_url(request) -> str:
    """The `next` the form sent if it points into this site, else the pipeline."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("ops:crm_leads")


@capability_required("crm_view_client")
def lead_pipeline(request):
    filters = {key: request.GET.get(key, "").strip() for key in ("stage", "source", "agent", "q")}
    leads = _pipeline_leads(request.user)
    if filters["source"]:
        leads = leads.filter(source=filters["source"])
    if filters["agent"] == "none":
        leads = leads.filter(sales_agent=None)
    elif filters["agent"].isdigit():
        leads = leads.filter(sales_agent_id=int(filters["agent"]))
    if filters["q"]:
        leads = leads.filter(search_text__contains=filters["q"].lower())
    # One pass over the leads gives the stage counts, and the paginator's count comes from them.
    counts = dict(leads.order_by().values_list("lead_stage").annotate(n=Count("id")))
    total = sum(counts.values())
    if filters["stage"] in Stage.values:
        leads = leads.filter(lead_stage=filters["stage"])
        total = counts.get(filters["stage"], 0)
    paginator = Paginator(leads.select_related("sales_agent").order_by("-created_at", "-id"), PAGE_SIZE)
    paginator.__dict__["count"] = total  # Paginator.count is a cached_property: skip its COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    for lead in page:
        lead.phone_shown = phone_display(lead.phone)
    stage_query = urlencode({key: value for key, value in filters.items() if value and key != "stage"})
    stages = [(value, label, counts.get(value, 0)) for value, label in Stage.choices]
    context = {
        "page": page,
        "filters": filters,
        "query": _query(request, exclude="page"),
        "stage_query": stage_query,
        "stages": stages,
        "total": sum(counts.values()),
        "stage_choices": Stage.choices,
        "sources": Client.Source.choices,
        "agents": _filter_agents(request.user, filters["agent"]),
        "can_edit": request.user.has_perm(perm("crm_change_client")),
        "can_import": request.user.has_perm(perm("crm_manage")),
    }
    template = "crm/leads/_lead_rows.html" if request.htmx and not request.htmx.boosted else "crm/leads/pipeline.html"
    return render(request, template, context)


def _filter_agents(user, chosen: str) -> list:
    """The agent filter's people: the sellers, plus the agent filtered by if they no longer are one."""
    if not user.has_perm(perm("crm_view_all_clients")):
        return []
    staff = User.objects.filter(pk=int(chosen) if chosen.isdigit() else None, groups__name__in=STAFF_ROLES)
    keep = Q(pk__in=staff.values("pk"))
    return list(
        User.objects.filter(Q(pk__in=agents_all().values("pk")) | keep).order_by("first_name", "last_name", "email")
    )


def _query(request, *, exclude: str) -> str:
    params = request.GET.copy()
    params.pop(exclude, None)
    return params.urlencode()


@require_POST
@capability_required("crm_change_client")
def lead_stage(request, client_id: int):
    lead = client_visible_or_404(request.user, client_id)
    form = StageForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            lead = lead_stage_set(
                actor=request.user, client=lead, stage=form.cleaned_data["stage"], reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            error = " ".join([exc.message, *(m for ms in exc.fields.values() for m in ms)])
    else:
        error = "Choose a stage."
    if request.htmx:
        lead.phone_shown = phone_display(lead.phone)
        moved = "" if error else f"Moved to {lead.get_lead_stage_display()}"
        if moved and lead.status != Client.Status.LEAD:
            moved += f": now a {lead.get_status_display().lower()} client"
        context = {
            "lead": lead,
            "stage_choices": Stage.choices,
            "can_edit": True,
            "row_error": error,
            "row_message": moved,
        }
        return render(request, "crm/leads/_lead_row.html", context, status=400 if error else 200)
    if error:
        messages.error(request, f"{lead}: {error}")
    else:
        moved = f"{lead} is now {lead.get_lead_stage_display().lower()}"
        if lead.status != Client.Status.LEAD:
            moved += f" (a {lead.get_status_display().lower()} client)"
        messages.success(request, f"{moved}.")
    return redirect(_next_url(request))


@capability_required("crm_change_client")
def lead_new(request):
    form = LeadForm(request.POST or None)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_create(actor=request.user, data=form.cleaned_data)
        except DuplicateLead as error:
            error.add_to_form(form)
            if error.visible:  # the message names the client: link it too
                duplicate = {"field": error.field, "client": error.existing, "url": client_url(error.existing)}
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Lead {lead} created.")
            return redirect("ops:crm_client_detail", client_id=lead.pk)
    context = {"form": form, "duplicate": duplicate}
    return render(request, "crm/leads/new.html", context, status=400 if form.errors else 200)


# Imports ------------------------------------------------------------------------------------------


@capability_required("crm_manage")
def import_list(request, form=None):
    page = Paginator(LeadImport.objects.select_related("created_by"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form or LeadUploadForm(), "page": page}
    return render(request, "crm/leads/imports.html", context, status=400 if form is not None else 200)


@require_POST
@capability_required("crm_manage")
def import_upload(request):
    form = LeadUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            lead_import, summary = imports.lead_import_upload(
                actor=request.user, filename=upload.name, data=upload.read()
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, summary)
            return redirect("ops:crm_lead_import", import_id=lead_import.pk)
    return import_list(request, form=form)


@capability_required("crm_manage")
def import_mapping(request, import_id: int):
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    if lead_import.status != LeadImport.Status.MAPPING:
        return redirect("ops:crm_lead_import_progress", import_id=lead_import.pk)
    initial = {f"map_{field}": column for field, column in lead_import.mapping.items()}
    form = MappingForm(request.POST or None, header=lead_import.header, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            imports.lead_import_start(
                actor=request.user,
                lead_import=lead_import,
                mapping=form.mapping(),
                tags=form.cleaned_data["tags"],
                source=form.cleaned_data["source"],
                source_detail=form.cleaned_data["source_detail"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
            for field, problems in error.fields.items():
                for problem in problems:
                    form.add_error(f"map_{field}" if f"map_{field}" in form.fields else None, problem)
        else:
            return redirect("ops:crm_lead_import_progress", import_id=lead_import.pk)
    context = {
        "lead_import": lead_import,
        "form": form,
        "preview": imports.lead_import_preview(lead_import),
        "encoding": imports.ENCODING_LABELS.get(lead_import.encoding, lead_import.encoding),
    }
    return render(request, "crm/leads/mapping.html", context, status=400 if form.errors else 200)


def _progress_context(lead_import: LeadImport) -> dict:
    done = lead_import.imported + lead_import.duplicates + lead_import.rejected
    percent = round(100 * done / lead_import.total_rows) if lead_import.total_rows else 100
    return {
        "lead_import": lead_import,
        "done": done,
        "pending": imports.pending_count(lead_import),
        "percent": percent,
        "working": lead_import.status in (LeadImport.Status.QUEUED, LeadImport.Status.RUNNING),
    }


@capability_required("crm_manage")
def import_progress(request, import_id: int):
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    if lead_import.status == LeadImport.Status.MAPPING:
        return redirect("ops:crm_lead_import", import_id=lead_import.pk)
    template = "crm/leads/_import_progress.html" if request.htmx else "crm/leads/progress.html"
    return render(request, template, _progress_context(lead_import))


@require_POST
@capability_required("crm_manage")
def import_resume(request, import_id: int):
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    try:
        imports.lead_import_resume(actor=request.user, lead_import=lead_import)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Import of {lead_import.filename} queued again: it carries on from the pending rows."
        )
    return redirect("ops:crm_lead_import_progress", import_id=lead_import.pk)


@capability_required("crm_manage")
def import_report(request, import_id: int):
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    rows = imports.problem_rows(lead_import)
    if request.GET.get("format") == "csv":
        return csv_download(
            f"lead-import-{lead_import.pk}-problems",
            ["line", "outcome", "problems", *[csv_safe(name) for name in lead_import.header]],
            (
                [row.line, row.outcome, csv_safe(" ".join(row.problems)), *(csv_safe(str(v)) for v in row.values)]
                for row in rows.iterator(chunk_size=1000)
            ),
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for row in page:
        row.summary = imports.row_summary(lead_import, row)
    context = {**_progress_context(lead_import), "page": page}
    return render(request, "crm/leads/report.html", context)
