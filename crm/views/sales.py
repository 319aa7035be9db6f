"""Sales pages under /ops/crm/sales/: KPIs, reassignment, desks and assignment rules."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from crm import desks as desk_services
from crm.assignment import can_reassign, clients_reassign, rule_choice
from crm.kpis import period_from, sales_kpis
from crm.links import person_label
from crm.models import AssignmentRule, Desk
from crm.sales_forms import DeskForm, PeriodForm, ReassignForm, RuleForm, RuleTestForm
from crm.visibility import clients_visible_to


def _render(request, template: str, tab: str, **context):
    return render(request, template, {"tab": tab, "can_reassign": can_reassign(request.user), **context})


# KPIs -----------------------------------------------------------------------------------------------


@capability_required("crm_view_client")
def kpis(request):
    form = PeriodForm(request.GET or None)
    kpis = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        try:
            period = period_from(data.get("period") or "", data.get("date_from"), data.get("date_to"))
            kpis = sales_kpis(request.user, period)
        except ApplicationError as error:
            error.add_to_form(form)
    if kpis is not None and not request.GET:
        form = PeriodForm(initial={"period": kpis.period.preset})
    time_zone = timezone.get_current_timezone_name()
    return _render(request, "crm/sales/kpis.html", "kpis", form=form, kpis=kpis, time_zone=time_zone)


# Reassignment ---------------------------------------------------------------------------------------


@capability_required("crm_view_client")
def reassign(request):
    if not can_reassign(request.user):
        raise PermissionDenied
    form = ReassignForm(request.POST or request.GET or None, user=request.user)
    clients = page = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        clients = clients_visible_to(request.user).filter(**{data["role"]: data["from_agent"]})
        if data["status"]:
            clients = clients.filter(status=data["status"])
        if data["country"]:
            clients = clients.filter(country=data["country"])
        if request.method == "POST":
            target = data["to_agent"]
            if target is None:
                form.add_error("to_agent", "Choose who takes the clients over.")
            elif target.pk == data["from_agent"].pk:
                form.add_error("to_agent", f"These are {person_label(target)}'s clients already: choose someone else.")
            else:
                try:
                    moved = clients_reassign(
                        actor=request.user,
                        client_ids=list(clients.values_list("pk", flat=True)),
                        **{data["role"]: target},
                    )
                except ApplicationError as error:
                    error.add_to_form(form)
                else:
                    noun = "client" if moved == 1 else "clients"
                    messages.success(
                        request,
                        f"Moved {moved} {noun} from {person_label(data['from_agent'])} to {person_label(target)}.",
                    )
                    query = {"from_agent": data["from_agent"].pk, "role": data["role"]}
                    query.update({k: data[k] for k in ("status", "country") if data[k]})
                    return redirect(f"{request.path}?{urlencode(query)}")
        page = clients.select_related("sales_agent", "retention_agent").order_by("-created_at", "-id")
        count = page.count()
        clients = {"count": count, "rows": list(page[:25])}
    return _render(request, "crm/sales/reassign.html", "reassign", form=form, clients=clients)


# Desks ----------------------------------------------------------------------------------------------


@capability_required("crm_manage")
def desks(request):
    form = DeskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            desk = desk_services.desk_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Desk {desk.name} created.")
            return redirect("ops:crm_desks")
    rows = Desk.objects.select_related("manager").prefetch_related("members").order_by("name")
    return _render(request, "crm/sales/desks.html", "desks", form=form, desks=rows)


@capability_required("crm_manage")
def desk_edit(request, desk_id: int):
    desk = get_object_or_404(Desk, pk=desk_id)
    members = list(desk.members.all())
    initial = {"name": desk.name, "manager": desk.manager, "members": members}
    form = DeskForm(request.POST or None, initial=initial, current_members=members, current_manager=desk.manager)
    if request.method == "POST" and form.is_valid():
        try:
            desk_services.desk_update(actor=request.user, desk=desk, **form.cleaned_data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Desk {form.cleaned_data['name']} saved.")
            return redirect("ops:crm_desks")
    return _render(request, "crm/sales/desk_edit.html", "desks", form=form, desk=desk)


@require_POST
@capability_required("crm_manage")
def desk_delete(request, desk_id: int):
    desk = get_object_or_404(Desk, pk=desk_id)
    desk_services.desk_delete(actor=request.user, desk=desk)
    messages.success(request, f"Desk {desk.name} deleted; its agents keep their clients.")
    return redirect("ops:crm_desks")


# Assignment rules -----------------------------------------------------------------------------------


@capability_required("crm_manage")
def rules(request):
    rows = AssignmentRule.objects.prefetch_related("members__user").order_by("team", "priority", "id")
    test_form = RuleTestForm(request.GET if "test" in request.GET else None)
    tested = choice = None
    if test_form.is_bound and test_form.is_valid():
        tested = test_form.cleaned_data
        choice = rule_choice(
            country=tested["country"],
            language=tested["language"],
            source=tested["source"],
            team=tested["team"] or "sales",
        )
    return _render(
        request, "crm/sales/rules.html", "rules", rules=rows, test_form=test_form, tested=tested, choice=choice
    )


def _rule_form_page(request, rule: AssignmentRule | None):
    initial = {}
    if rule is not None:
        initial = {
            "name": rule.name,
            "team": rule.team,
            "priority": rule.priority,
            "countries": rule.countries,
            "languages": rule.languages,
            "sources": rule.sources,
            "agents": [m.user for m in rule.members.select_related("user")],
            "is_active": rule.is_active,
        }
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                rule = desk_services.rule_create(actor=request.user, data=form.cleaned_data)
            else:
                rule = desk_services.rule_update(actor=request.user, rule=rule, data=form.cleaned_data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Rule {rule.name} saved.")
            return redirect("ops:crm_rules")
    return _render(request, "crm/sales/rule_form.html", "rules", form=form, rule=rule)


@capability_required("crm_manage")
def rule_new(request):
    return _rule_form_page(request, None)


@capability_required("crm_manage")
def rule_edit(request, rule_id: int):
    return _rule_form_page(request, get_object_or_404(AssignmentRule, pk=rule_id))


@require_POST
@capability_required("crm_manage")
def rule_toggle(request, rule_id: int):
    rule = get_object_or_404(AssignmentRule, pk=rule_id)
    rule = desk_services.rule_set_active(actor=request.user, rule=rule, is_active=not rule.is_active)
    messages.success(request, f"Rule {rule.name} {'switched on' if rule.is_active else 'switched off'}.")
    return redirect("ops:crm_rules")


@require_POST
@capability_required("crm_manage")
def rule_delete(request, rule_id: int):
    rule = get_object_or_404(AssignmentRule, pk=rule_id)
    desk_services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Rule {rule.name} deleted.")
    return redirect("ops:crm_rules")
