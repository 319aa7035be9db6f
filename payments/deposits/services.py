"""Deposits: start one at a provider, then confirm, fail or expire it. Every write is here.

Status moves only along `TRANSITIONS`, each move under a row lock on the deposit,
with a PaymentEvent row for the timeline and, for final states, a domain event:
`payments.deposit.completed` / `payments.deposit.failed`. Money moves once, in
`deposit_confirm`, by a ledger posting whose reference is `deposit:<public id>`.

KYC deposit limits (the client's verification level, kyc.requirements) are checked when a
deposit starts, never when money arrives: what reached our account is the client's and is
credited, even above the limit (finance confirming a wire by hand included). There is no
staff path that starts a deposit for a client, so every start is held to the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import minor_units, money_text, quantize
from crm.models import Client
from kyc.requirements import deposit_allowance
from payments import ledger
from payments.adapters.registry import adapter_for
from payments.models import (
    Deposit,
    LedgerAccount,
    LedgerTransaction,
    MethodCurrency,
    PaymentEvent,
    PaymentMethod,
    SimulatedChainTransaction,
)
from payments.rates import RateUnavailable, amount_in, rate_mid

Status = Deposit.Status

TRANSITIONS: dict[str, set[str]] = {
    Status.CREATED: {Status.PENDING, Status.FAILED},
    Status.PENDING: {Status.CONFIRMING, Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED},
    Status.CONFIRMING: {Status.COMPLETED, Status.FAILED},
    # Money that arrives after we gave up on it is still the client's: it is credited.
    Status.FAILED: {Status.COMPLETED},
    Status.EXPIRED: {Status.COMPLETED},
    Status.CANCELLED: {Status.COMPLETED},
    Status.COMPLETED: set(),
}
# Client statuses a first completed deposit moves forward to "funded" (never backwards).
FUNDABLE_CLIENT_STATUSES = (Client.Status.REGISTERED, Client.Status.VERIFIED)


@dataclass(frozen=True)
class Quote:
    amount: Decimal
    fee: Decimal
    net: Decimal
    currency: str
    min_amount: Decimal
    max_amount: Decimal


def fee_for(method: PaymentMethod, offer: MethodCurrency, amount: Decimal) -> Decimal:
    """fixed + amount × percent / 100, rounded once to the currency's minor unit."""
    return quantize(offer.fee_fixed + amount * method.fee_percent / 100, offer.currency)


def method_offer(method: PaymentMethod, currency: str) -> MethodCurrency:
    if not method.deposits_enabled:
        raise ApplicationError(
            f"{method.name} does not take deposits.", fields={"method": ["Not available for deposits."]}
        )
    offer = MethodCurrency.objects.filter(method=method, currency=currency).first()
    if offer is None:
        raise ApplicationError(
            f"{method.name} does not take {currency or 'that currency'}.",
            fields={"currency": [f"{method.name} does not take this currency."]},
        )
    return offer


def deposit_quote(*, method: PaymentMethod, currency: str, amount: Decimal) -> Quote:
    """The fee and what the wallet receives, or a clear error naming the field to fix."""
    offer = method_offer(method, currency)
    ledger.amount_clean(amount, currency)
    if amount < offer.min_amount:
        raise ApplicationError(
            f"The smallest {method.name} deposit is {offer.min_amount:f} {currency}.",
            fields={"amount": [f"At least {quantize(offer.min_amount, currency)} {currency}."]},
        )
    if amount > offer.max_amount:
        raise ApplicationError(
            f"The largest {method.name} deposit is {offer.max_amount:f} {currency}.",
            fields={"amount": [f"At most {quantize(offer.max_amount, currency)} {currency}."]},
        )
    fee = fee_for(method, offer, amount)
    if fee >= amount:
        raise ApplicationError(
            "The amount does not cover the fee.", fields={"amount": [f"More than the fee of {fee} {currency}."]}
        )
    return Quote(amount, fee, amount - fee, currency, offer.min_amount, offer.max_amount)


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


def _event(deposit: Deposit, status: str, note: str = "", *, actor=None, actor_label: str = "") -> PaymentEvent:
    return PaymentEvent.objects.create(
        deposit=deposit, status=status, note=note[:500], actor=actor, actor_label=actor_label[:60]
    )


def _person(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def deposit_start(
    *,
    client: Client,
    method: PaymentMethod,
    currency: str,
    amount: Decimal,
    actor,
    request_token: str = "",
    return_url: str = "",
) -> Deposit:
    """Open a deposit and the provider's side of it; the deposit then waits for the payment.

    `request_token` makes a double-submitted form harmless: the same token returns the
    deposit it already made (for that client) instead of a second one.
    """
    if request_token:
        existing = Deposit.objects.filter(request_token=request_token, client=client).first()
        if existing is not None:
            return existing
    quote = deposit_quote(method=method, currency=currency, amount=amount)
    try:
        with transaction.atomic():
            # One start at a time per client: two racing deposits near the limit cannot both pass.
            client = Client.objects.select_for_update(no_key=True).get(pk=client.pk)
            deposit_limit_check(client=client, currency=currency, amount=quote.amount)
            deposit = Deposit.objects.create(
                client=client,
                method=method,
                currency=currency,
                amount=quote.amount,
                fee=quote.fee,
                request_token=request_token or None,
                status=Status.CREATED,
            )
            label = "client" if _person(actor) and actor == client.user else ""
            _event(
                deposit,
                Status.CREATED,
                f"{_money(quote.amount, currency)} by {method.name}; fee {_money(quote.fee, currency)}, "
                f"to the wallet {_money(quote.net, currency)}.",
                actor=_person(actor),
                actor_label=label,
            )
            return_url = return_url or reverse("portal:deposit_detail", args=[deposit.public_id])
            instructions = adapter_for(method).deposit_start(deposit, return_url=return_url)
            deposit.psp_reference = instructions.psp_reference or None
            deposit.checkout_url = instructions.checkout_url
            deposit.wire_reference = instructions.wire_reference or None
            deposit.crypto_address = instructions.crypto_address or None
            deposit.required_confirmations = instructions.required_confirmations
            deposit.status = Status.PENDING
            deposit.save()
            _event(deposit, Status.PENDING, _waiting_note(deposit), actor_label=f"psp:{method.provider}")
    except IntegrityError:
        if request_token:
            existing = Deposit.objects.filter(request_token=request_token, client=client).first()
            if existing is not None:  # the other submit of the same form won the race
                return existing
        raise
    return deposit


# Deposits that count against a KYC deposit limit: completed ones, and open ones that may still
# complete (otherwise ten pending deposits just under the limit could all go through).
LIMIT_COUNTED = (Status.CREATED, Status.PENDING, Status.CONFIRMING, Status.COMPLETED)
VERIFICATION_HINT = "Complete your verification (Verification in the portal) to raise it."


@dataclass(frozen=True)
class DepositRoom:
    """What the client's verification level lets them deposit, and how much of it is used.

    Amounts are in `currency` (the limit's), each currency's total converted at today's mid rate.
    `limit` None: no limit. `unconverted` lists currencies no rate converts (the room is unknown).
    """

    allowed: bool
    limit: Decimal | None
    currency: str
    label: str  # "level 1 (Basic)"
    reason: str
    completed: Decimal = Decimal(0)
    open: Decimal = Decimal(0)
    unconverted: tuple[str, ...] = ()

    @property
    def used(self) -> Decimal:
        return self.completed + self.open

    @property
    def remaining(self) -> Decimal | None:
        if self.limit is None:
            return None
        return max(self.limit - self.used, Decimal(0))


def _converted(amount: Decimal, currency: str, target: str) -> Decimal | None:
    try:
        return amount_in(amount, currency, target)
    except RateUnavailable:
        return None


def deposit_room(client: Client) -> DepositRoom:
    """The client's deposit limit at their verification level and what already counts against it."""
    allowance = deposit_allowance(client)
    label = f"level {allowance.level.number} ({allowance.level.name})" if allowance.level else "no verification level"
    if not allowance.allowed or allowance.limit is None:
        return DepositRoom(allowance.allowed, allowance.limit, allowance.currency, label, allowance.reason)
    totals = (
        Deposit.objects.filter(client=client, status__in=LIMIT_COUNTED)
        .values("currency", "status")
        .annotate(total=Sum("amount"))
        .order_by("currency", "status")
    )
    completed, pending, unconverted = Decimal(0), Decimal(0), []
    for row in totals:
        value = _converted(row["total"], row["currency"], allowance.currency)
        if value is None:
            unconverted.append(row["currency"])
        elif row["status"] == Status.COMPLETED:
            completed += value
        else:
            pending += value
    return DepositRoom(
        True,
        allowance.limit,
        allowance.currency,
        label,
        "",
        completed,
        pending,
        tuple(dict.fromkeys(unconverted)),
    )


def deposit_max(room: DepositRoom, *, currency: str, method_max: Decimal) -> Decimal:
    """The largest deposit in `currency` the method and the client's verification level allow
    together: what the level leaves, converted at today's mid rate and rounded down so that it passes
    `deposit_limit_check`, when that is below the method's maximum."""
    if room.remaining is None or room.unconverted:
        return method_max
    try:
        rate, _ = rate_mid(currency, room.currency)
    except RateUnavailable:
        return method_max
    # The check rounds the converted amount half-up: below remaining + half a unit passes.
    ceiling = room.remaining + Decimal(1).scaleb(-minor_units(room.currency)) / 2
    left = quantize(ceiling / rate, currency, rounding=ROUND_DOWN)
    unit = Decimal(1).scaleb(-minor_units(currency))
    while left > 0 and quantize(left * rate, room.currency) > room.remaining:
        left -= unit
    return min(method_max, max(left, Decimal(0)))


def _limit_refusal(message: str) -> ApplicationError:
    return ApplicationError(message, fields={"amount": [message]}, code="kyc_limit")


def deposit_limit_check(*, client: Client, currency: str, amount: Decimal) -> None:
    """Refuse a deposit the client's verification level does not allow. deposit_start calls it with
    the client row locked; the portal also calls it at the amount step, before the confirmation page."""
    room = deposit_room(client)
    if not room.allowed:
        raise _limit_refusal(f"Deposits are not open at your verification stage yet. {room.reason}")
    if room.limit is None:
        return
    this = _converted(amount, currency, room.currency)
    if this is None or room.unconverted:
        missing = ", ".join(dict.fromkeys([*room.unconverted, *([currency] if this is None else [])]))
        raise _limit_refusal(
            f"Your deposits are limited to {money_text(room.limit, room.currency)} at {room.label}, and no "
            f"exchange rate converts {missing} to {room.currency} right now, so this deposit cannot be checked "
            f"against the limit. Try again later or deposit in {room.currency}. {VERIFICATION_HINT}"
        )
    if room.used + this > room.limit:
        so_far = f"You have deposited {money_text(room.used, room.currency)} so far"
        if room.open:
            so_far += f" (of which {money_text(room.open, room.currency)} is still on its way)"
        raise _limit_refusal(
            f"This deposit ({money_text(this, room.currency)}) would take you over your deposit limit of "
            f"{money_text(room.limit, room.currency)} at verification {room.label}. {so_far}, so at most "
            f"{money_text(room.remaining, room.currency)} more. {VERIFICATION_HINT}"
        )


def _waiting_note(deposit: Deposit) -> str:
    if deposit.wire_reference:
        return f"Waiting for a wire with reference {deposit.wire_reference}."
    if deposit.crypto_address:
        return f"Waiting for {deposit.required_confirmations} confirmations at {deposit.crypto_address}."
    return "Waiting for the client at the provider's checkout."


def _locked(deposit: Deposit) -> Deposit:
    return Deposit.objects.select_for_update().select_related("method", "client").get(pk=deposit.pk)


def _move(deposit: Deposit, status: str) -> None:
    if status not in TRANSITIONS[deposit.status]:
        raise ApplicationError(
            f"A {deposit.get_status_display().lower()} deposit cannot become {Status(status).label.lower()}.",
            code="invalid_transition",
        )
    deposit.status = status


def deposit_confirm(
    deposit: Deposit,
    *,
    amount: Decimal,
    actor=None,
    actor_label: str,
    psp_reference: str = "",
    source_label: str = "",
    note: str = "",
) -> Deposit:
    """The money arrived: credit the wallet with `amount` less the fee, once.

    Called by webhooks (the provider's word), reconciliation (a statement credit) and
    finance by hand (`actor` set: audited). If `amount` differs from what the client
    asked to deposit, what arrived is credited, the fee is recomputed on it, and the
    timeline says so. Confirming a completed deposit again changes nothing.
    """
    with transaction.atomic():
        deposit = _locked(deposit)
        if deposit.status == Status.COMPLETED:
            return deposit
        ledger.amount_clean(amount, deposit.currency)
        before = snapshot(deposit, ["status", "amount", "fee"])
        previous = deposit.status
        _move(deposit, Status.COMPLETED)
        notes = [note.strip()] if note.strip() else []
        if amount != deposit.amount:
            offer = MethodCurrency.objects.filter(method=deposit.method, currency=deposit.currency).first()
            fee = fee_for(deposit.method, offer, amount) if offer else deposit.fee
            notes.append(
                f"Asked for {_money(deposit.amount, deposit.currency)}, received {_money(amount, deposit.currency)}; "
                f"fee recomputed: {_money(fee, deposit.currency)}."
            )
            deposit.requested_amount, deposit.amount, deposit.fee = deposit.amount, amount, min(fee, amount)
        if previous != Status.PENDING and previous != Status.CONFIRMING:
            notes.append(f"The payment arrived after the deposit was {Status(previous).label.lower()}.")
        deposit.transaction = _post(deposit, actor=_person(actor))
        if psp_reference and not deposit.psp_reference:
            deposit.psp_reference = psp_reference
        if source_label:
            deposit.source_label = source_label[:120]
        deposit.failure_reason = ""
        deposit.completed_at = timezone.now()
        deposit.save()
        _event(deposit, Status.COMPLETED, " ".join(notes), actor=_person(actor), actor_label=actor_label)
        Client.objects.filter(pk=deposit.client_id, status__in=FUNDABLE_CLIENT_STATUSES).update(
            status=Client.Status.FUNDED
        )
        if _person(actor):
            audit_log(
                actor=actor,
                action="payments.deposit.confirmed",
                obj=deposit,
                before=before,
                after={**snapshot(deposit, ["status", "amount", "fee"]), "note": note.strip()},
            )
        event_publish(
            "payments.deposit.completed",
            {
                "deposit_id": str(deposit.public_id),
                "client_id": deposit.client_id,
                "amount": str(deposit.amount),
                "fee": str(deposit.fee),
                "net": str(deposit.net),
                "currency": deposit.currency,
                "method": deposit.method.code,
            },
        )
    return deposit


def _post(deposit: Deposit, *, actor) -> LedgerTransaction:
    """clearing(method, currency) −amount, wallet +net, fees +fee."""
    currency = deposit.currency
    lines = [
        ledger.Line(
            ledger.system_account(LedgerAccount.Kind.PSP_CLEARING, currency, deposit.method.code), -deposit.amount
        )
    ]
    if deposit.net:
        lines.append(ledger.Line(ledger.wallet_for(deposit.client, currency), deposit.net))
    if deposit.fee:
        lines.append(ledger.Line(ledger.system_account(LedgerAccount.Kind.FEES, currency), deposit.fee))
    return ledger.transaction_post(
        kind=LedgerTransaction.Kind.DEPOSIT,
        reference=f"deposit:{deposit.public_id}",
        lines=lines,
        description=f"Deposit by {deposit.method.name}",
        client=deposit.client,
        actor=actor,
        metadata={"deposit": str(deposit.public_id), "method": deposit.method.code, "fee": str(deposit.fee)},
    )


def deposit_fail(
    deposit: Deposit, *, reason: str, actor=None, actor_label: str, status: str = Status.FAILED
) -> Deposit:
    """The payment will not arrive (declined, refused, abandoned). A final deposit stays as it is.

    That is what makes a late "failed" after "succeeded" harmless: it changes nothing.
    """
    if not reason.strip():
        raise ApplicationError("Say why the deposit failed.", fields={"reason": ["Required."]})
    with transaction.atomic():
        deposit = _locked(deposit)
        if deposit.is_final:
            return deposit
        before = snapshot(deposit, ["status", "failure_reason"])
        _move(deposit, status)
        deposit.failure_reason = reason.strip()[:300]
        deposit.save(update_fields=["status", "failure_reason", "updated_at"])
        _event(deposit, status, deposit.failure_reason, actor=_person(actor), actor_label=actor_label)
        if _person(actor):
            audit_log(
                actor=actor,
                action=f"payments.deposit.{status}",
                obj=deposit,
                before=before,
                after=snapshot(deposit, ["status", "failure_reason"]),
            )
        event_publish(
            "payments.deposit.failed",
            {
                "deposit_id": str(deposit.public_id),
                "client_id": deposit.client_id,
                "amount": str(deposit.amount),
                "currency": deposit.currency,
                "method": deposit.method.code,
                "status": status,
                "reason": deposit.failure_reason,
            },
        )
    return deposit


def deposit_confirming(deposit: Deposit, *, confirmations: int, actor_label: str) -> Deposit:
    """The provider has seen the payment and it is gathering confirmations (crypto)."""
    with transaction.atomic():
        deposit = _locked(deposit)
        if deposit.status not in (Status.PENDING, Status.CONFIRMING) or confirmations < deposit.confirmations:
            return deposit  # final already, or an older notification arriving late
        if deposit.status == Status.PENDING:
            _move(deposit, Status.CONFIRMING)
        elif confirmations == deposit.confirmations:
            return deposit
        deposit.confirmations = confirmations
        deposit.save(update_fields=["status", "confirmations", "updated_at"])
        _event(
            deposit,
            Status.CONFIRMING,
            f"{confirmations} of {deposit.required_confirmations} confirmations.",
            actor_label=actor_label,
        )
    return deposit


def deposits_expire_abandoned(*, now=None) -> int:
    """Card checkouts nobody finished in time end as expired (the provider's checkout closed too)."""
    from payments.adapters.sandbox_card import checkout_minutes

    now = now or timezone.now()
    expired = 0
    for method in PaymentMethod.objects.filter(kind=PaymentMethod.Kind.CARD):
        cutoff = now - timedelta(minutes=checkout_minutes(method))
        for deposit in Deposit.objects.filter(method=method, status=Status.PENDING, created_at__lte=cutoff):
            done = deposit_fail(
                deposit, reason="The checkout was not completed in time.", actor_label="system", status=Status.EXPIRED
            )
            expired += done.status == Status.EXPIRED
    return expired


def deposit_simulate_payment(deposit: Deposit, *, amount: Decimal) -> None:
    """Demo only: send coins to a crypto deposit's address on the built-in chain simulator."""
    adapter = adapter_for(deposit.method)
    if not (adapter.is_simulator and deposit.crypto_address):
        raise ApplicationError("Only deposits on the chain simulator can be simulated.", code="not_simulated")
    sent = SimulatedChainTransaction.objects.filter(address=deposit.crypto_address).exists()
    if deposit.status != Status.PENDING or sent:
        raise ApplicationError("A payment to this address has already been sent.", code="already_sent")
    ledger.amount_clean(amount, deposit.currency)
    adapter.transaction_send(
        address=deposit.crypto_address,
        amount=amount,
        currency=deposit.currency,
        merchant_reference=str(deposit.public_id),
    )
