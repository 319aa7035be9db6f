"""Withdrawal pages: the client's request form and history, and the ops review queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.money import parse_amount
from brokerage.permissions import capability_required
from brokerage.roles import perm
from crm.models import Client
from payments.models import PaymentMethod, Withdrawal
from payments.selectors import client_wallets
from payments.withdrawals import policy, selectors, services
from payments.withdrawals.destinations import destination_label
from payments.withdrawals.forms import ApproveForm, RejectForm, WithdrawalForm

# Client portal --------------------------------------------------------------------------------------


def _owed_to_cards(client: Client) -> list[tuple[str, object]]:
    """(currency, amount) still owed back to the client's cards, for the note on the form."""
    owed = (
        (wallet.currency, policy.return_to_source_owed(client, wallet.currency)) for wallet in client_wallets(client)
    )
    return [(currency, amount) for currency, amount in owed if amount]


@capability_required("portal_access")
def portal_withdrawal_new(request):
    client = selectors.client_of(request.user)
    if client is None:
        return render(request, "payments/withdrawals/portal_new.html", {"client": None})
    form = WithdrawalForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            withdrawal = services.withdrawal_request(
                client=client,
                method=data["method"],
                currency=data["currency"],
                amount=data["amount"],
                destination=form.destination(),
                actor=request.user,
                request_id=data["request_id"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Withdrawal requested: the funds are held until it is paid.")
            return redirect("portal:withdrawal_detail", public_id=withdrawal.public_id)
    context = {
        "client": client,
        "form": form,
        "kyc_approved": client.kyc_status == Client.KycStatus.APPROVED,
        "owed_to_cards": _owed_to_cards(client),
    }
    return render(request, "payments/withdrawals/portal_new.html", context)


@capability_required("portal_access")
def portal_withdrawal_quote(request):
    """HTMX: fee and what arrives for the amount typed so far, or why it cannot be withdrawn so."""
    client = selectors.client_of(request.user)
    context: dict = {}
    method = PaymentMethod.objects.filter(code=request.GET.get("method", ""), withdrawals_enabled=True).first()
    currency = request.GET.get("currency", "")
    text = request.GET.get("amount", "").strip()
    if client is None or method is None or not currency or not text:
        return render(request, "payments/withdrawals/_quote.html", {"empty": True})
    try:
        context["quote"] = policy.withdrawal_quote(method=method, currency=currency, amount=parse_amount(text))
        policy.return_to_source_check(client=client, method=method, currency=currency, amount=context["quote"].amount)
    except ValueError:
        context["problem"] = "Enter an amount, like 250.00."
    except ApplicationError as error:
        context["problem"] = error.message
    return render(request, "payments/withdrawals/_quote.html", context)


@capability_required("portal_access")
def portal_withdrawal_list(request):
    client = selectors.client_of(request.user)
    withdrawals = selectors.client_withdrawals(client) if client else Withdrawal.objects.none()
    page = Paginator(withdrawals, 20).get_page(request.GET.get("page"))
    return render(request, "payments/withdrawals/portal_list.html", {"client": client, "page": page})


@capability_required("portal_access")
def portal_withdrawal_detail(request, public_id):
    client = selectors.client_of(request.user)
    if client is None:
        return redirect("portal:withdrawal_new")
    withdrawal = selectors.client_withdrawal_get(client, public_id)
    context = {
        "w": withdrawal,
        "destination": destination_label(withdrawal.destination),
        "timeline": selectors.withdrawal_timeline(withdrawal, for_staff=False),
        "can_cancel": withdrawal.status in services.IN_REVIEW,
    }
    return render(request, "payments/withdrawals/portal_detail.html", context)


@require_POST
@capability_required("portal_access")
def portal_withdrawal_cancel(request, public_id):
    client = selectors.client_of(request.user)
    if client is None:
        return redirect("portal:withdrawal_new")
    withdrawal = selectors.client_withdrawal_get(client, public_id)
    try:
        services.withdrawal_cancel(withdrawal=withdrawal, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Withdrawal cancelled: the funds are available again.")
    return redirect("portal:withdrawal_detail", public_id=withdrawal.public_id)


# Ops ------------------------------------------------------------------------------------------------

STATUS_FILTERS = [
    (selectors.QUEUE_OPEN, "Waiting for a decision"),
    *Withdrawal.Status.choices,
    (selectors.QUEUE_ALL, "Any status"),
]


@capability_required("payments_view")
def ops_withdrawal_list(request):
    status = request.GET.get("status") or selectors.QUEUE_OPEN
    page = Paginator(selectors.withdrawal_queue(status=status), 50).get_page(request.GET.get("page"))
    context = {"tab": "withdrawals", "page": page, "status": status, "statuses": STATUS_FILTERS}
    template = "payments/withdrawals/_ops_rows.html" if request.htmx else "payments/withdrawals/ops_list.html"
    return render(request, template, context)


def _decision_block(withdrawal: Withdrawal, user) -> str:
    """Why this person cannot decide now ("" when they can)."""
    if withdrawal.status not in services.IN_REVIEW:
        return ""
    if not user.has_perm(perm("payments_approve")):
        return "Deciding on withdrawals needs the payments approval permission."
    if user.pk in (withdrawal.created_by_id, withdrawal.client.user_id):
        return "You made this request: someone else must decide on it."
    if any(approval.staff_id == user.pk for approval in withdrawal.approvals.all()):
        return "You gave the first approval: a second finance officer must decide."
    return ""


@capability_required("payments_view")
def ops_withdrawal_detail(request, public_id):
    withdrawal = get_object_or_404(
        Withdrawal.objects.select_related("client", "method", "created_by", "hold", "transaction").prefetch_related(
            "approvals__staff"
        ),
        public_id=public_id,
    )
    block = _decision_block(withdrawal, request.user)
    context = {
        "tab": "withdrawals",
        "w": withdrawal,
        "destination": destination_label(withdrawal.destination),
        "timeline": selectors.withdrawal_timeline(withdrawal, for_staff=True),
        "decision_block": block,
        "can_decide": withdrawal.status in services.IN_REVIEW and not block,
        "can_requeue": withdrawal.status == Withdrawal.Status.APPROVED
        and request.user.has_perm(perm("payments_approve")),
        "can_fail": withdrawal.status in (Withdrawal.Status.APPROVED, Withdrawal.Status.PROCESSING)
        and request.user.has_perm(perm("payments_approve")),
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
    }
    return render(request, "payments/withdrawals/ops_detail.html", context)


def _ops_decide(request, public_id, decide) -> object:
    withdrawal = get_object_or_404(Withdrawal, public_id=public_id)
    try:
        message = decide(withdrawal)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, message)
    return redirect("ops:payments_withdrawal", public_id=withdrawal.public_id)


@require_POST
@capability_required("payments_approve")
def ops_withdrawal_approve(request, public_id):
    form = ApproveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""

    def decide(withdrawal):
        withdrawal = services.withdrawal_approve(withdrawal=withdrawal, actor=request.user, note=note)
        if withdrawal.status == Withdrawal.Status.PENDING_SECOND_APPROVAL:
            return "First approval recorded: a second finance officer must approve."
        return "Approved: the payout is on its way to the provider."

    return _ops_decide(request, public_id, decide)


@require_POST
@capability_required("payments_approve")
def ops_withdrawal_reject(request, public_id):
    def decide(withdrawal):
        services.withdrawal_reject(withdrawal=withdrawal, actor=request.user, reason=request.POST.get("reason", ""))
        return "Rejected: the funds are back in the client's wallet."

    return _ops_decide(request, public_id, decide)


@require_POST
@capability_required("payments_approve")
def ops_withdrawal_requeue(request, public_id):
    def decide(withdrawal):
        services.withdrawal_payout_requeue(withdrawal=withdrawal, actor=request.user)
        return "The payout was sent to the provider again."

    return _ops_decide(request, public_id, decide)


@require_POST
@capability_required("payments_approve")
def ops_withdrawal_fail(request, public_id):
    def decide(withdrawal):
        services.withdrawal_payout_fail(
            withdrawal=withdrawal, actor=request.user, reason=request.POST.get("reason", "")
        )
        return "Marked as failed: the funds are back in the client's wallet."

    return _ops_decide(request, public_id, decide)
