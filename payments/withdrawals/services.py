"""Every write in a withdrawal's life: request, review, payout, settlement, cancellation.

The life: requested (funds held) → pending review → [second approval] →
approved → processing (sent to the PSP) → paid (hold captured, ledger posted)
or failed (hold released); rejected and cancelled release the hold too.
Each step is one function here, runs in one database transaction with the
withdrawal's row locked, writes a timeline event, and (for staff) an audit record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import money_text
from brokerage.roles import perm
from crm.models import Client
from payments.adapters.base import PayoutPermanentError
from payments.adapters.registry import adapter_for
from payments.ledger import Kind, Line, hold_place, hold_release, system_account, transaction_post, wallet_for
from payments.models import (
    LedgerTransaction,
    PaymentEvent,
    PaymentMethod,
    PaymentPolicy,
    Withdrawal,
    WithdrawalApproval,
)
from payments.withdrawals import policy
from payments.withdrawals.destinations import destination_clean
from payments.withdrawals.hooks import withdrawal_check_reasons

logger = logging.getLogger(__name__)

Status = Withdrawal.Status
IN_REVIEW = (Status.PENDING_REVIEW, Status.PENDING_SECOND_APPROVAL)
ALLOWED = {
    Status.PENDING_REVIEW: {Status.PENDING_SECOND_APPROVAL, Status.APPROVED, Status.REJECTED, Status.CANCELLED},
    Status.PENDING_SECOND_APPROVAL: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
    # A PSP may confirm before we have marked the payout as sent.
    Status.APPROVED: {Status.PROCESSING, Status.PAID, Status.FAILED},
    Status.PROCESSING: {Status.PAID, Status.FAILED},
}
# Longer than the payout task's longest backoff, so a retry under way is never doubled by the sweep.
STALLED_AFTER = timedelta(minutes=90)
AUDITED_FIELDS = ["status", "reason", "needs_four_eyes", "auto_approved", "psp_reference"]


def _event(withdrawal: Withdrawal, status: str, note: str = "", *, actor=None, actor_label: str = "") -> None:
    PaymentEvent.objects.create(
        withdrawal=withdrawal,
        status=status,
        note=note[:500],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label[:60],
    )


def _move(withdrawal: Withdrawal, to: str, *, fields: tuple[str, ...] = ()) -> None:
    if to not in ALLOWED.get(withdrawal.status, ()):
        raise ApplicationError(
            f"This withdrawal is {withdrawal.get_status_display().lower()}; it cannot become {Status(to).label.lower()}.",
            code="invalid_status",
        )
    withdrawal.status = to
    withdrawal.save(update_fields=["status", "updated_at", *fields])


def _locked(withdrawal: Withdrawal) -> Withdrawal:
    """The withdrawal's row, locked until the transaction ends: one decision at a time."""
    return (
        Withdrawal.objects.select_for_update(of=("self",))
        .select_related("client", "method", "hold")
        .get(pk=withdrawal.pk)
    )


def _payload(withdrawal: Withdrawal) -> dict:
    return {
        "withdrawal": str(withdrawal.public_id),
        "client_id": withdrawal.client_id,
        "method": withdrawal.method.code,
        "currency": withdrawal.currency,
        "amount": str(withdrawal.amount),
        "status": withdrawal.status,
    }


def _queue_payout(withdrawal: Withdrawal) -> None:
    """Send the payout task once the approval has committed (never from inside the transaction)."""
    schema, withdrawal_id = connection.schema_name, withdrawal.pk

    def send() -> None:
        from payments.withdrawals.tasks import withdrawal_payout

        with schema_context(schema):
            try:
                withdrawal_payout.delay(withdrawal_id)
            except Exception:  # broker down (or, run inline, the task failed): the sweep sends it again
                logger.exception(
                    "payout of withdrawal %s not queued; withdrawal_payout_sweep will retry", withdrawal_id
                )

    transaction.on_commit(send)


def _require(actor, capability: str) -> None:
    if not (actor and actor.is_authenticated and actor.has_perm(perm(capability))):
        raise PermissionDenied


# Request ------------------------------------------------------------------------------------------


def withdrawal_request(
    *,
    client: Client,
    method: PaymentMethod,
    currency: str,
    amount: Decimal,
    destination: dict,
    actor,
    request_id: uuid.UUID | None = None,
) -> Withdrawal:
    """Check, hold the funds and create the withdrawal; approve it at once when the policy allows.

    `request_id` (the form's or caller's id for this request) makes a resubmission
    return the withdrawal it already created instead of a second one.
    """
    with transaction.atomic():
        # One request per client at a time, so the daily limit and return-to-source see each other.
        client = Client.objects.select_for_update(no_key=True).get(pk=client.pk)
        if request_id is not None:
            existing = Withdrawal.objects.filter(public_id=request_id).first()
            if existing is not None:
                if existing.client_id != client.pk:
                    raise ApplicationError("This request id is already in use.", code="request_id")
                return existing
        quote = policy.withdrawal_quote(method=method, currency=currency, amount=amount)
        adapter_for(method)  # refuses a built-in simulator outside demo, debug and test runs
        policy.kyc_check(client)
        destination = destination_clean(client=client, method=method, currency=currency, data=destination)
        policy.return_to_source_check(client=client, method=method, currency=currency, amount=quote.amount)
        rules = PaymentPolicy.current()
        limit_reasons = policy.daily_limit_check(client=client, currency=currency, amount=quote.amount, policy=rules)

        public_id = request_id or uuid.uuid4()
        hold = hold_place(
            wallet_for(client, currency),
            quote.amount,
            reference=f"withdrawal:{public_id}",
            description=f"Withdrawal by {method}",
        )
        withdrawal = Withdrawal.objects.create(
            public_id=public_id,
            client=client,
            method=method,
            currency=currency,
            amount=quote.amount,
            fee=quote.fee,
            destination=destination,
            hold=hold,
            payout_reference=f"wd-{public_id.hex}",
            created_by=actor,
        )
        _event(
            withdrawal,
            "requested",
            f"{money_text(quote.amount, currency)} by {method} (fee {money_text(quote.fee, currency)}, "
            f"{money_text(quote.receives, currency)} to pay out); funds held.",
            actor=actor,
        )
        event_publish("payments.withdrawal.requested", _payload(withdrawal))
        route = policy.approval_route(
            withdrawal=withdrawal,
            policy=rules,
            flags=limit_reasons + withdrawal_check_reasons(withdrawal),
            amount_base=policy.base_amount(quote.amount, currency),
        )
        withdrawal.needs_four_eyes = route.needs_four_eyes
        withdrawal.review_reasons = route.review_reasons
        # Only a client's own request is paid with no staff action: staff requests always meet a checker.
        if route.auto_approve and actor is not None and actor.pk == client.user_id:
            withdrawal.auto_approved = True
            _move(withdrawal, Status.APPROVED, fields=("auto_approved", "needs_four_eyes", "review_reasons"))
            _event(
                withdrawal,
                "approved",
                "Checks passed: approved automatically by the payment policy.",
                actor_label="system",
            )
            _queue_payout(withdrawal)
            event_publish("payments.withdrawal.approved", _payload(withdrawal))
        else:
            withdrawal.save(update_fields=["needs_four_eyes", "review_reasons"])
            who = "two finance officers" if route.needs_four_eyes else "a finance officer"
            _event(withdrawal, "pending_review", f"Waiting for review by {who}.", actor_label="system")
        audit_log(
            actor=actor,
            action="payments.withdrawal.requested",
            obj=withdrawal,
            after=snapshot(withdrawal, ["client", "method", "currency", "amount", "fee", *AUDITED_FIELDS]),
        )
    return withdrawal


# Review -------------------------------------------------------------------------------------------


def _review_check(withdrawal: Withdrawal, actor) -> None:
    if withdrawal.status not in IN_REVIEW:
        raise ApplicationError(
            f"This withdrawal is {withdrawal.get_status_display().lower()}; there is nothing to decide.",
            code="not_in_review",
        )
    if actor.pk in (withdrawal.created_by_id, withdrawal.client.user_id):
        raise ApplicationError(
            "You made this withdrawal request: someone else must decide on it.", code="maker_cannot_approve"
        )
    if withdrawal.approvals.filter(staff=actor).exists():
        raise ApplicationError(
            "You have already approved this withdrawal: the second decision is someone else's.", code="four_eyes"
        )


def withdrawal_approve(*, withdrawal: Withdrawal, actor, note: str = "") -> Withdrawal:
    """Approve; above the four-eyes threshold the first approval waits for a different second one."""
    _require(actor, "payments_approve")
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        _review_check(withdrawal, actor)
        before = snapshot(withdrawal, AUDITED_FIELDS)
        WithdrawalApproval.objects.create(withdrawal=withdrawal, staff=actor, approved=True, reason=note.strip())
        if withdrawal.needs_four_eyes and withdrawal.status == Status.PENDING_REVIEW:
            _move(withdrawal, Status.PENDING_SECOND_APPROVAL)
            _event(withdrawal, "first_approval", "First approval; a second finance officer must approve.", actor=actor)
            action = "payments.withdrawal.first_approval"
        else:
            _move(withdrawal, Status.APPROVED)
            _event(withdrawal, "approved", note.strip() or "Approved.", actor=actor)
            _queue_payout(withdrawal)
            event_publish("payments.withdrawal.approved", _payload(withdrawal))
            action = "payments.withdrawal.approved"
        audit_log(actor=actor, action=action, obj=withdrawal, before=before, after=snapshot(withdrawal, AUDITED_FIELDS))
    return withdrawal


def _release(withdrawal: Withdrawal, *, actor=None, actor_label: str = "") -> None:
    hold_release(withdrawal.hold)
    _event(
        withdrawal,
        "hold_released",
        f"{money_text(withdrawal.amount, withdrawal.currency)} available again.",
        actor=actor,
        actor_label=actor_label,
    )


def withdrawal_reject(*, withdrawal: Withdrawal, actor, reason: str) -> Withdrawal:
    """Refuse the withdrawal; the reason is shown to the client and the held funds come back."""
    _require(actor, "payments_approve")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError("Say why: the client reads the reason.", fields={"reason": ["Required."]})
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        _review_check(withdrawal, actor)
        before = snapshot(withdrawal, AUDITED_FIELDS)
        WithdrawalApproval.objects.create(withdrawal=withdrawal, staff=actor, approved=False, reason=reason[:500])
        withdrawal.reason = reason[:500]
        _move(withdrawal, Status.REJECTED, fields=("reason",))
        _event(withdrawal, "rejected", reason, actor=actor)
        _release(withdrawal, actor=actor)
        audit_log(
            actor=actor,
            action="payments.withdrawal.rejected",
            obj=withdrawal,
            before=before,
            after=snapshot(withdrawal, AUDITED_FIELDS),
        )
        event_publish("payments.withdrawal.rejected", _payload(withdrawal))
    return withdrawal


def withdrawal_cancel(*, withdrawal: Withdrawal, actor) -> Withdrawal:
    """The client takes the request back while it waits for review; the funds come back."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        if withdrawal.status not in IN_REVIEW:
            raise ApplicationError(
                f"This withdrawal is {withdrawal.get_status_display().lower()}; it can no longer be cancelled.",
                code="not_cancellable",
            )
        before = snapshot(withdrawal, AUDITED_FIELDS)
        _move(withdrawal, Status.CANCELLED)
        _event(withdrawal, "cancelled", "Cancelled by the client.", actor=actor)
        _release(withdrawal, actor=actor)
        audit_log(
            actor=actor,
            action="payments.withdrawal.cancelled",
            obj=withdrawal,
            before=before,
            after=snapshot(withdrawal, AUDITED_FIELDS),
        )
        event_publish("payments.withdrawal.cancelled", _payload(withdrawal))
    return withdrawal


# Payout -------------------------------------------------------------------------------------------


def withdrawal_payout_send(*, withdrawal_id: int) -> Withdrawal:
    """Send an approved withdrawal to its PSP and mark it processing.

    The PSP knows the payout by `payout_reference`, so a repeat (a retried
    task, a redelivered message, two racing workers) never pays twice. A
    refusal fails the withdrawal and releases the hold; transient errors
    propagate to the task, which retries.
    """
    withdrawal = Withdrawal.objects.select_related("method", "client").get(pk=withdrawal_id)
    if withdrawal.status != Status.APPROVED:
        return withdrawal  # already sent, settled, or not approved
    provider = f"psp:{withdrawal.method.provider}"
    try:
        # In a transaction so that a simulator's webhook (sent on commit) follows the "sent" step.
        with transaction.atomic():
            psp_reference = adapter_for(withdrawal.method).send_payout(withdrawal) or ""
            sent = Withdrawal.objects.filter(pk=withdrawal.pk, status=Status.APPROVED).update(
                status=Status.PROCESSING, psp_reference=psp_reference[:120], updated_at=timezone.now()
            )
            if sent:
                _event(
                    withdrawal,
                    "sent",
                    f"Sent to {withdrawal.method} (reference {psp_reference}).",
                    actor_label=provider,
                )
    except PayoutPermanentError as error:
        return withdrawal_payout_settled(
            withdrawal, paid=False, reason=f"The payment provider refused the payout: {error}", actor_label=provider
        )
    withdrawal.refresh_from_db()
    return withdrawal


def withdrawal_payout_delayed(*, withdrawal_id: int, error: str, retry_in: int | None) -> None:
    """The PSP could not take the payout now: say so on the timeline, and when it is tried again.

    Touching the row also tells `withdrawals_stalled` that a retry is under way.
    """
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    when = f"trying again in {retry_in // 60 or 1} min" if retry_in else "retries used up; it will be sent again later"
    _event(withdrawal, "payout_delayed", f"Payment provider unavailable ({error}); {when}.", actor_label="system")
    Withdrawal.objects.filter(pk=withdrawal_id, status=Status.APPROVED).update(updated_at=timezone.now())


def withdrawal_payout_requeue(*, withdrawal: Withdrawal, actor) -> Withdrawal:
    """Staff send an approved withdrawal whose payout stalled to the PSP again (safe: the PSP dedupes)."""
    _require(actor, "payments_approve")
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        if withdrawal.status != Status.APPROVED:
            raise ApplicationError(
                "Only an approved withdrawal waiting to be sent can be sent again.", code="not_approved"
            )
        _event(withdrawal, "payout_requeued", "Payout sent to the provider again.", actor=actor)
        audit_log(actor=actor, action="payments.withdrawal.payout_requeued", obj=withdrawal)
        _queue_payout(withdrawal)
    return withdrawal


def withdrawal_payout_fail(*, withdrawal: Withdrawal, actor, reason: str) -> Withdrawal:
    """Staff end a payout that will not be made (the bank returned the wire, the PSP never answered).

    The withdrawal fails with the reason (the client reads it) and the held funds come back.
    """
    _require(actor, "payments_approve")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError(
            "Say why the payout failed: the client reads the reason.", fields={"reason": ["Required."]}
        )
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        if withdrawal.status not in (Status.APPROVED, Status.PROCESSING):
            raise ApplicationError(
                f"This withdrawal is {withdrawal.get_status_display().lower()}; only an approved or processing "
                "payout can be marked as failed.",
                code="not_in_payout",
            )
        before = snapshot(withdrawal, AUDITED_FIELDS)
        withdrawal = withdrawal_payout_settled(
            withdrawal, paid=False, reason=reason, actor=actor, actor_label=actor.email
        )
        audit_log(
            actor=actor,
            action="payments.withdrawal.payout_failed",
            obj=withdrawal,
            before=before,
            after=snapshot(withdrawal, AUDITED_FIELDS),
        )
    return withdrawal


def withdrawals_stalled(*, older_than: timedelta = STALLED_AFTER):
    """Approved withdrawals with no payout activity for a while (lost to a broker outage, or retries used up)."""
    return Withdrawal.objects.filter(status=Status.APPROVED, updated_at__lt=timezone.now() - older_than).order_by("pk")


def withdrawal_payout_settled(
    withdrawal: Withdrawal,
    *,
    paid: bool,
    reason: str = "",
    psp_reference: str = "",
    actor_label: str,
    actor=None,
) -> Withdrawal:
    """The final word on a payout, from a PSP webhook, reconciliation, the payout task or staff (`actor`).

    Paid: the hold is captured and the ledger posts (wallet −amount, PSP clearing
    +net, fees +fee). Failed: the hold is released. Once final, nothing changes:
    a repeat is ignored, and a contradicting late report is only written on the timeline.
    """
    with transaction.atomic():
        withdrawal = _locked(withdrawal)
        outcome = "paid" if paid else "failed"
        if withdrawal.status in Withdrawal.FINAL:
            if withdrawal.status != (Status.PAID if paid else Status.FAILED):
                _event(
                    withdrawal,
                    "late_report",
                    f"Reported {outcome} after it was {withdrawal.get_status_display().lower()}: no change. {reason}",
                    actor_label=actor_label,
                )
            return withdrawal
        if withdrawal.status not in (Status.APPROVED, Status.PROCESSING):
            _event(
                withdrawal,
                "late_report",
                f"Reported {outcome} while waiting for approval: ignored. {reason}",
                actor_label=actor_label,
            )
            return withdrawal
        if psp_reference and not withdrawal.psp_reference:
            withdrawal.psp_reference = psp_reference[:120]
        if paid:
            withdrawal.transaction = _post_payout(withdrawal)
            _move(withdrawal, Status.PAID, fields=("transaction", "psp_reference"))
            _event(withdrawal, "paid", reason or "Paid out.", actor_label=actor_label)
        else:
            withdrawal.reason = (reason or "The payment provider could not pay it out.")[:500]
            _move(withdrawal, Status.FAILED, fields=("reason", "psp_reference"))
            _event(withdrawal, "failed", withdrawal.reason, actor=actor, actor_label=actor_label)
            _release(withdrawal, actor=actor, actor_label=actor_label)
        event_publish(f"payments.withdrawal.{outcome}", _payload(withdrawal))
    return withdrawal


def _post_payout(withdrawal: Withdrawal) -> LedgerTransaction:
    currency, fee = withdrawal.currency, withdrawal.fee
    lines = [
        Line(wallet_for(withdrawal.client, currency), -withdrawal.amount),
        Line(system_account(Kind.PSP_CLEARING, currency, withdrawal.method.code), withdrawal.amount - fee),
    ]
    if fee:
        lines.append(Line(system_account(Kind.FEES, currency), fee))
    return transaction_post(
        kind=LedgerTransaction.Kind.WITHDRAWAL,
        reference=f"withdrawal:{withdrawal.public_id}",
        lines=lines,
        description=f"Withdrawal by {withdrawal.method}",
        client=withdrawal.client,
        metadata={"withdrawal": str(withdrawal.public_id), "psp_reference": withdrawal.psp_reference},
        capture=withdrawal.hold,
    )
