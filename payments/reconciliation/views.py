"""/ops/payments/reconciliation/: upload statements, work the exception queue, read the daily report."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from payments.reconciliation import selectors, services
from payments.reconciliation.forms import EntryResolveForm, ReportForm, SandboxSettlementForm, StatementUploadForm
from payments.reconciliation.report import daily_report, report_csv
from payments.reconciliation.sandbox import sandbox_settlement_csv


def _can_manage(request) -> bool:
    return request.user.has_perm(perm("payments_manage"))


def _home(request, upload_form=None, status=200):
    queue = selectors.exception_queue()
    context = {
        "tab": "reconciliation",
        "can_manage": _can_manage(request),
        "upload_form": upload_form or StatementUploadForm(),
        "sandbox_form": SandboxSettlementForm(),
        "queue": queue[:50],
        "queue_count": queue.count(),
        "imports": Paginator(selectors.statement_list(), 20).get_page(request.GET.get("page")),
    }
    return render(request, "payments/reconciliation/home.html", context, status=status)


@capability_required("payments_view")
def reconciliation_home(request):
    return _home(request)


@require_POST
@capability_required("payments_manage")
def statement_upload(request):
    form = StatementUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            statement = services.statement_import(
                data=upload.read(),
                filename=upload.name,
                format=form.cleaned_data["format"],
                method=form.cleaned_data["method"],
                actor=request.user,
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, services.statement_summary(statement))
            return redirect("ops:payments_reconciliation_import", pk=statement.pk)
    return _home(request, upload_form=form, status=400)


@capability_required("payments_view")
def statement_detail(request, pk: int):
    statement = get_object_or_404(selectors.statement_list(), pk=pk)
    entries = selectors.entry_list().filter(statement=statement).order_by("line_no")
    context = {"tab": "reconciliation", "statement": statement, "entries": entries}
    return render(request, "payments/reconciliation/statement_detail.html", context)


@capability_required("payments_view")
def entry_detail(request, pk: int):
    entry = get_object_or_404(selectors.entry_list(), pk=pk)
    can_manage = _can_manage(request)
    form = EntryResolveForm(request.POST or None, entry=entry)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                _resolve(request, entry, form.cleaned_data)
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                return redirect("ops:payments_reconciliation")
    context = {"tab": "reconciliation", "entry": entry, "form": form, "can_manage": can_manage}
    return render(request, "payments/reconciliation/entry_detail.html", context, status=400 if form.errors else 200)


def _resolve(request, entry, data) -> None:
    action, note = data["action"], data.get("note") or ""
    if action == "link":
        entry = services.entry_link_deposit(entry=entry, deposit=data["deposit"], note=note, actor=request.user)
        messages.success(request, f"Line {entry.line_no}: {entry.resolution_note}")
    else:
        services.entry_resolve(entry=entry, ignore=action == "ignore", note=note, actor=request.user)
        messages.success(request, f"Line {entry.line_no} of statement #{entry.statement_id} marked {action}d.")


@capability_required("payments_view")
def report(request):
    form = ReportForm(request.GET or None)
    reports, day = [], None
    if form.is_valid():
        day, method = form.cleaned_data["date"], form.cleaned_data["method"]
        reports = daily_report(day, method=method)
        if request.GET.get("download") == "csv":
            response = HttpResponse(report_csv(reports), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="reconciliation-{day.isoformat()}.csv"'
            return response
    elif not request.GET:
        form = ReportForm(initial={"date": timezone.localdate()})
    context = {"tab": "reconciliation", "form": form, "reports": reports, "day": day, "query": request.GET.urlencode()}
    return render(request, "payments/reconciliation/report.html", context, status=400 if form.errors else 200)


@capability_required("payments_manage")
def sandbox_settlement(request):
    form = SandboxSettlementForm(request.GET)
    if form.is_valid():
        day, method = form.cleaned_data["date"], form.cleaned_data["method"]
        try:
            content = sandbox_settlement_csv(method=method, day=day)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            response = HttpResponse(content, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="sandbox-settlement-{day.isoformat()}.csv"'
            return response
    else:
        messages.error(request, "Choose a date and the sandbox card method.")
    return redirect("ops:payments_reconciliation")
