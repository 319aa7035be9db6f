"""Deposit pages: the client's (start, status, list) and finance's (list, detail, manual actions)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from brokerage.errors import ApplicationError
from brokerage.money import quantize
from brokerage.permissions import capability_required
from crm.models import Client
from payments.adapters.bank_wire import BankWireAdapter, wire_reference_display
from payments.adapters.registry import adapter_for
from payments.deposits import selectors, services
from payments.deposits.forms import (
    DepositStartForm,
    ManualConfirmForm,
    ManualFailForm,
    OpsFilterForm,
    SimulateSendForm,
)
from payments.models import Deposit, MethodCurrency, PaymentMethod

# Client portal ------------------------------------------------------------------------------------


def _client(request) -> Client | None:
    return Client.objects.filter(user=request.user).first()


BANK_LABELS = {"iban": "IBAN", "bic": "BIC", "sort_code": "Sort code", "account_number": "Account number"}


def _limit_error(error: ApplicationError) -> dict:
    """A KYC limit refusal for the page: the service's plain-text pointer to the verification page
    (kept for the API) becomes a link (payments/deposits/_limit_error.html)."""
    before, hint, after = error.message.partition(services.VERIFICATION_HINT)
    return {"before": before.strip(), "linked": bool(hint), "after": after.strip()}


def _preview(form: DepositStartForm, client: Client | None) -> dict:
    """Fee, net and limits (the method's, lowered to what the client's verification level leaves)
    for what the form holds so far; an error only once an amount is typed."""
    method = form.chosen_method
    currency = form.data.get("currency") if form.is_bound else form.initial.get("currency")
    if currency not in form.currency_options:
        currency = form.currency_options[0] if form.currency_options else ""
    offer = MethodCurrency.objects.filter(method=method, currency=currency).first() if method else None
    preview = {"method": method, "currency": currency, "offer": offer, "quote": None, "error": "", "limit_error": None}
    if offer is None:
        return preview
    room = services.deposit_room(client) if client is not None else None
    preview["max_amount"] = (
        services.deposit_max(room, currency=currency, method_max=offer.max_amount) if room else offer.max_amount
    )
    preview["max_from_level"] = preview["max_amount"] < offer.max_amount
    raw = (form.data.get("amount") or "").strip() if form.is_bound else ""
    if not raw:
        return preview
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        preview["error"] = "Enter an amount such as 250.00."
        return preview
    try:
        preview["quote"] = services.deposit_quote(method=method, currency=currency, amount=amount)
        if client is not None:
            services.deposit_limit_check(client=client, currency=currency, amount=preview["quote"].amount)
    except ApplicationError as error:
        preview["quote"] = None
        if error.code == "kyc_limit":
            preview["limit_error"] = _limit_error(error)
        else:
            texts = [text for field_texts in error.fields.values() for text in field_texts]
            preview["error"] = " ".join(texts) or str(error)
    return preview


def _next_step(deposit: Deposit) -> str:
    """The provider's checkout while it waits for the client there, else the status page."""
    if deposit.checkout_url and deposit.status == Deposit.Status.PENDING:
        return deposit.checkout_url
    return reverse("portal:deposit_detail", args=[deposit.public_id])


@capability_required("portal_access")
def deposit_new(request):
    """Step 1: method, currency, amount (live fee preview). Step 2: review and confirm."""
    client = _client(request)
    if client is None:
        return render(request, "payments/deposits/portal_no_client.html")
    form = DepositStartForm(request.POST or None)
    limit_error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("confirm"):
                deposit = services.deposit_start(
                    client=client,
                    method=data["method"],
                    currency=data["currency"],
                    amount=data["amount"],
                    actor=request.user,
                    request_token=data["token"],
                )
                return redirect(_next_step(deposit))
            quote = services.deposit_quote(method=data["method"], currency=data["currency"], amount=data["amount"])
            # Checked again, under the client's lock, when the deposit starts; here so that nobody is
            # asked to confirm a deposit their verification level does not allow.
            services.deposit_limit_check(client=client, currency=data["currency"], amount=quote.amount)
        except ApplicationError as error:
            if error.code == "kyc_limit":
                limit_error = _limit_error(error)
            else:
                error.add_to_form(form)
        else:
            return render(
                request,
                "payments/deposits/portal_review.html",
                {"form": form, "quote": quote, "method": data["method"]},
            )
    preview = _preview(form, client)
    if limit_error is not None:
        # The form's own error; the preview would only repeat it.
        preview["limit_error"] = None
    context = {"form": form, "preview": preview, "room": services.deposit_room(client), "limit_error": limit_error}
    return render(request, "payments/deposits/portal_new.html", context)


@capability_required("portal_access")
def deposit_preview(request):
    """HTMX: the form's fields (currencies of the chosen method) and the fee preview."""
    form = DepositStartForm(request.GET)
    context = {"form": form, "preview": _preview(form, _client(request)), "redraw": True}
    return render(request, "payments/deposits/_start_fields.html", context)


def _status_context(deposit: Deposit) -> dict:
    adapter = adapter_for(deposit.method)
    context = {
        "deposit": deposit,
        "is_simulator": adapter.is_simulator,
        "wallet": selectors.wallet_of(deposit.client, deposit.currency)
        if deposit.status == Deposit.Status.COMPLETED
        else None,
    }
    if isinstance(adapter, BankWireAdapter):
        context["bank_details"] = {BANK_LABELS.get(key, key): value for key, value in adapter.bank_details().items()}
        context["wire_reference"] = wire_reference_display(deposit.wire_reference or "")
    return context


@capability_required("portal_access")
def deposit_detail(request, public_id):
    """The status page: instructions while it waits, polled by HTMX until the state is final."""
    deposit = selectors.deposit_of_client(_client(request), public_id)
    if deposit is None:
        raise Http404
    context = _status_context(deposit)
    if request.htmx:
        # Final now: reload the whole page, so the instructions give way to the outcome.
        if deposit.is_final:
            return HttpResponseClientRefresh()
        return render(request, "payments/deposits/_portal_status.html", context)
    context["send_form"] = SimulateSendForm(initial={"amount": quantize(deposit.amount, deposit.currency)})
    return render(request, "payments/deposits/portal_detail.html", context)


@require_POST
@capability_required("portal_access")
def deposit_simulate_send(request, public_id):
    deposit = selectors.deposit_of_client(_client(request), public_id)
    if deposit is None:
        raise Http404
    form = SimulateSendForm(request.POST)
    if form.is_valid():
        try:
            services.deposit_simulate_payment(deposit, amount=form.cleaned_data["amount"])
        except ApplicationError as error:
            if error.fields:
                error.add_to_form(form)
            else:  # the form may no longer be on the page
                messages.error(request, error.message)
        else:
            return redirect("portal:deposit_detail", public_id=deposit.public_id)
    context = {**_status_context(deposit), "send_form": form}
    return render(request, "payments/deposits/portal_detail.html", context, status=400)


@capability_required("portal_access")
def deposit_list(request):
    client = _client(request)
    deposits = selectors.deposit_list(client_id=client.pk) if client else Deposit.objects.none()
    page = Paginator(deposits, 20).get_page(request.GET.get("page"))
    return render(request, "payments/deposits/portal_list.html", {"client": client, "page": page})


# Ops ----------------------------------------------------------------------------------------------


@capability_required("payments_view")
def ops_deposit_list(request):
    form = OpsFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    deposits = selectors.deposit_list(
        search=(filters.get("q") or "").strip(),
        status=filters.get("status") or "",
        method=filters.get("method") or "",
        currency=filters.get("currency") or "",
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = Paginator(deposits, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "tab": "deposits"}
    template = "payments/deposits/_ops_rows.html" if request.htmx else "payments/deposits/ops_list.html"
    return render(request, template, context)


def _ops_deposit(public_id=None, pk=None) -> Deposit:
    lookup = {"public_id": public_id} if public_id is not None else {"pk": pk}
    return get_object_or_404(Deposit.objects.select_related("client", "method", "transaction"), **lookup)


def _ops_detail(request, deposit: Deposit, *, confirm_form=None, fail_form=None, status: int = 200):
    can_manage = request.user.has_perm("brokerage.payments_manage")
    context = {
        **_status_context(deposit),
        "tab": "deposits",
        "events": deposit.events.select_related("actor"),
        "deliveries": deposit.webhookdelivery_set.order_by("received_at", "id"),
        "can_fail": can_manage and not deposit.is_final,
        # A wire marked failed or expired by mistake can still be confirmed when the money shows up.
        "can_confirm": can_manage
        and deposit.method.kind == PaymentMethod.Kind.BANK_WIRE
        and deposit.status != Deposit.Status.COMPLETED,
        "confirm_form": confirm_form or ManualConfirmForm(deposit=deposit),
        "fail_form": fail_form or ManualFailForm(),
    }
    return render(request, "payments/deposits/ops_detail.html", context, status=status)


@capability_required("payments_view")
def ops_deposit_detail(request, public_id=None, pk=None):
    return _ops_detail(request, _ops_deposit(public_id, pk))


@require_POST
@capability_required("payments_manage")
def ops_deposit_confirm(request, public_id):
    """Finance saw the wire arrive (on the bank's site, a statement) and confirms it by hand."""
    deposit = _ops_deposit(public_id)
    form = ManualConfirmForm(request.POST, deposit=deposit)
    if deposit.method.kind != PaymentMethod.Kind.BANK_WIRE:
        messages.error(
            request, "Only bank wires are confirmed by hand; cards and crypto are confirmed by the provider."
        )
    elif deposit.status == Deposit.Status.COMPLETED:
        messages.error(request, "This deposit is already completed.")
    elif form.is_valid():
        try:
            services.deposit_confirm(
                deposit,
                amount=form.cleaned_data["amount"],
                actor=request.user,
                actor_label="finance",
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "The wire is confirmed and the client's wallet credited.")
            return redirect("ops:payments_deposit", public_id=deposit.public_id)
    return _ops_detail(request, deposit, confirm_form=form, status=400)


@require_POST
@capability_required("payments_manage")
def ops_deposit_fail(request, public_id):
    deposit = _ops_deposit(public_id)
    form = ManualFailForm(request.POST)
    if deposit.is_final:
        messages.error(request, f"This deposit is already {deposit.get_status_display().lower()}.")
    elif form.is_valid():
        try:
            done = services.deposit_fail(
                deposit, reason=form.cleaned_data["reason"], actor=request.user, actor_label="finance"
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            if done.status == Deposit.Status.FAILED:
                messages.success(request, "The deposit is marked failed.")
            else:  # it became final meanwhile
                messages.error(request, f"The deposit is already {done.get_status_display().lower()}.")
            return redirect("ops:payments_deposit", public_id=deposit.public_id)
    return _ops_detail(request, deposit, fail_form=form, status=400)
