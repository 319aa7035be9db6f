"""Staff actions on the books and the cashier's configuration: reversals, adjustments, methods, policy.

Each is one transaction that writes its audit record; money moves only through payments.ledger.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import MINOR_UNITS, minor_units, quantize
from payments import ledger
from payments.ledger import InsufficientFunds, Kind, Line
from payments.models import LedgerAccount, LedgerTransaction, MethodCurrency, PaymentMethod, PaymentPolicy

MAX_MARKUP_PERCENT = Decimal(10)


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why.", fields={"reason": ["Required."]})
    return reason[:250]


# Reversal and adjustment ---------------------------------------------------------------------------


def _overdrawn_by_reversal(txn: LedgerTransaction) -> LedgerAccount | None:
    """The first account the mirror image of `txn` would take below what is held on it, if any."""
    for line in txn.lines.select_related("account"):
        account = line.account
        if line.amount > 0 and not account.allow_negative and account.balance - line.amount < account.held:
            return account
    return None


def transaction_reverse_by_staff(*, txn: LedgerTransaction, actor, reason: str) -> LedgerTransaction:
    """Post the mirror image of a transaction (finance's correction), audited."""
    reason = _reason_clean(reason)
    if txn.kind == LedgerTransaction.Kind.REVERSAL:
        raise ApplicationError("A reversal cannot itself be reversed; post an adjustment instead.", code="reversal")
    if LedgerTransaction.objects.filter(reverses=txn).exists():
        raise ApplicationError("This transaction has already been reversed.", code="already_reversed")
    if hasattr(txn, "trading_transfer"):
        raise ApplicationError(
            "The money of a trading account transfer is on the platform: transfer it back instead.",
            code="trading_transfer",
        )
    if account := _overdrawn_by_reversal(txn):
        raise ApplicationError(
            f"Reversing would overdraw {account.name}: "
            f"{quantize(account.available, account.currency):f} {account.currency} available.",
            code="insufficient_funds",
        )
    with transaction.atomic():
        try:
            reversal = ledger.transaction_reverse(txn, actor=actor, reason=reason)
        except InsufficientFunds as error:  # the balance changed since the check above
            raise ApplicationError(f"Reversing would overdraw a wallet. {error.message}", code=error.code) from None
        audit_log(
            actor=actor,
            action="payments.transaction.reversed",
            obj=txn,
            after={"reference": txn.reference, "reversal": reversal.reference, "reason": reason},
        )
        event_publish(
            "payments.transaction.reversed",
            {"transaction_id": txn.pk, "reversal_id": reversal.pk, "client_id": txn.client_id, "reason": reason},
        )
    return reversal


def wallet_adjust(*, wallet: LedgerAccount, amount: Decimal, reason: str, actor, request_key: str) -> LedgerTransaction:
    """Credit (amount > 0) or debit (amount < 0) a client wallet against the suspense account."""
    reason = _reason_clean(reason)
    if wallet.kind != Kind.CLIENT_WALLET:
        raise ApplicationError("Only client wallets are adjusted by hand.", code="not_a_wallet")
    if not isinstance(amount, Decimal) or amount == 0:
        raise ApplicationError("The amount must not be zero.", fields={"amount": ["Must not be zero."]})
    ledger.amount_clean(abs(amount), wallet.currency)
    if not request_key or len(request_key) > 100:
        raise ApplicationError("Missing request key: reload the page.", code="key_required")
    suspense = ledger.system_account(Kind.SUSPENSE, wallet.currency)
    reference = f"adjustment:{request_key}"
    with transaction.atomic():
        # A double-submitted form waits here for the first, then finds its posting.
        LedgerAccount.objects.select_for_update().get(pk=wallet.pk)
        existing = LedgerTransaction.objects.filter(reference=reference).first()
        if existing is not None:
            return existing
        txn = ledger.transaction_post(
            kind=LedgerTransaction.Kind.ADJUSTMENT,
            reference=reference,
            lines=[Line(wallet, amount), Line(suspense, -amount)],
            description=f"Adjustment: {reason}",
            client=wallet.client,
            actor=actor,
            metadata={"reason": reason},
        )
        audit_log(
            actor=actor,
            action="payments.wallet.adjusted",
            obj=wallet,
            after={"amount": f"{amount:f} {wallet.currency}", "reason": reason, "transaction": txn.reference},
        )
        event_publish(
            "payments.wallet.adjusted",
            {
                "transaction_id": txn.pk,
                "client_id": wallet.client_id,
                "currency": wallet.currency,
                "amount": str(amount),
            },
        )
    return txn


# Methods and policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyLimits:
    currency: str
    fee_fixed: Decimal
    min_amount: Decimal
    max_amount: Decimal


def currency_limits_problems(row: CurrencyLimits) -> dict[str, list[str]]:
    """What is wrong with one currency's fee and limits, per field (shared by the ops page and the admin)."""
    if row.currency not in MINOR_UNITS:
        return {"currency": ["Unknown currency."]}
    places = minor_units(row.currency)
    fields: dict[str, list[str]] = {}
    for name in ("fee_fixed", "min_amount", "max_amount"):
        value = getattr(row, name)
        if quantize(value, row.currency) != value:
            fields[name] = [f"At most {places} decimals in {row.currency}."]
    if row.fee_fixed < 0:
        fields.setdefault("fee_fixed", []).append("Not below zero.")
    if row.min_amount <= 0:
        fields.setdefault("min_amount", []).append("Must be above zero.")
    elif row.min_amount > row.max_amount:
        fields.setdefault("max_amount", []).append("Must be at least the minimum.")
    return fields


def _limits_clean(rows: list[CurrencyLimits]) -> None:
    seen: set[str] = set()
    for row in rows:
        if row.currency in seen:
            raise ApplicationError(f"{row.currency} is listed twice.", fields={"currency": ["Listed twice."]})
        seen.add(row.currency)
        if problems := currency_limits_problems(row):
            messages = "; ".join(m for ms in problems.values() for m in ms)
            raise ApplicationError(f"{row.currency}: {messages}", fields=problems)


def _method_state(method: PaymentMethod) -> dict:
    state = snapshot(method, ["name", "deposits_enabled", "withdrawals_enabled", "fee_percent", "sort_order"])
    state["currencies"] = {
        mc.currency: {"fee_fixed": f"{mc.fee_fixed:f}", "min": f"{mc.min_amount:f}", "max": f"{mc.max_amount:f}"}
        for mc in method.currencies.order_by("currency")
    }
    return state


def method_update(
    *,
    method: PaymentMethod,
    deposits_enabled: bool,
    withdrawals_enabled: bool,
    fee_percent: Decimal,
    currencies: list[CurrencyLimits],
    actor,
) -> PaymentMethod:
    """Switch a method on or off, set its fees and replace its currencies and limits, audited."""
    if not (isinstance(fee_percent, Decimal) and 0 <= fee_percent < 100) or fee_percent != fee_percent.quantize(
        Decimal("0.0001")
    ):
        raise ApplicationError(
            "The fee is a percentage from 0 to below 100.", fields={"fee_percent": ["0 to 99.9999."]}
        )
    _limits_clean(currencies)
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        before = _method_state(method)
        method.deposits_enabled, method.withdrawals_enabled = deposits_enabled, withdrawals_enabled
        method.fee_percent = fee_percent
        method.save(update_fields=["deposits_enabled", "withdrawals_enabled", "fee_percent"])
        wanted = {row.currency: row for row in currencies}
        method.currencies.exclude(currency__in=wanted).delete()
        for row in currencies:
            MethodCurrency.objects.update_or_create(
                method=method,
                currency=row.currency,
                defaults={"fee_fixed": row.fee_fixed, "min_amount": row.min_amount, "max_amount": row.max_amount},
            )
        method.refresh_from_db()
        after = _method_state(method)
        if after != before:
            audit_log(actor=actor, action="payments.method.updated", obj=method, before=before, after=after)
    return method


def method_secret_rotate(*, method: PaymentMethod, actor) -> str:
    """A new webhook signing secret; returned once for the PSP's dashboard, never shown again."""
    secret = "whsec_" + secrets.token_hex(24)
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        method.webhook_secret = secret
        method.save(update_fields=["webhook_secret"])
        audit_log(actor=actor, action="payments.method.secret_rotated", obj=method, after={"webhook_secret": "new"})
    return secret


POLICY_FIELDS = [
    "auto_approve_limit",
    "four_eyes_threshold",
    "daily_withdrawal_limit",
    "fx_markup_percent",
    "rate_feed",
]


def policy_problems(values: dict) -> dict[str, list[str]]:
    """What is wrong with these policy values, per field (shared by the ops page and the admin)."""
    base_currency = getattr(connection.tenant, "base_currency", "USD")
    fields: dict[str, list[str]] = {}
    for name in ("auto_approve_limit", "four_eyes_threshold", "daily_withdrawal_limit"):
        value = values[name]
        if value < 0:
            fields[name] = ["Not below zero."]
        elif quantize(value, base_currency) != value:
            fields[name] = [f"At most {minor_units(base_currency)} decimals ({base_currency})."]
    auto, four_eyes, daily = (
        values["auto_approve_limit"],
        values["four_eyes_threshold"],
        values["daily_withdrawal_limit"],
    )
    if not fields and auto > four_eyes:
        fields["auto_approve_limit"] = ["Cannot exceed the four-eyes threshold: it would pay what needs two approvals."]
    if not fields and daily and auto > daily:
        fields["auto_approve_limit"] = ["Cannot exceed the daily withdrawal limit."]
    markup = values["fx_markup_percent"]
    if not 0 <= markup <= MAX_MARKUP_PERCENT or markup != markup.quantize(Decimal("0.0001")):
        fields["fx_markup_percent"] = [f"From 0 to {MAX_MARKUP_PERCENT} percent, at most 4 decimals."]
    if values["rate_feed"] not in PaymentPolicy.RateFeed.values:
        fields["rate_feed"] = ["Unknown rate feed."]
    return fields


def policy_update(
    *,
    auto_approve_limit: Decimal,
    four_eyes_threshold: Decimal,
    daily_withdrawal_limit: Decimal,
    fx_markup_percent: Decimal,
    rate_feed: str,
    actor,
) -> PaymentPolicy:
    """Change the tenant's payment rules, audited. Amounts are in the tenant's base currency."""
    values = {
        "auto_approve_limit": auto_approve_limit,
        "four_eyes_threshold": four_eyes_threshold,
        "daily_withdrawal_limit": daily_withdrawal_limit,
        "fx_markup_percent": fx_markup_percent,
        "rate_feed": rate_feed,
    }
    fields = policy_problems(values)
    if fields:
        raise ApplicationError("The policy was not saved.", fields=fields)
    with transaction.atomic():
        policy = PaymentPolicy.objects.select_for_update().get(pk=PaymentPolicy.current().pk)
        before = snapshot(policy, POLICY_FIELDS)
        policy.auto_approve_limit, policy.four_eyes_threshold = auto_approve_limit, four_eyes_threshold
        policy.daily_withdrawal_limit, policy.fx_markup_percent = daily_withdrawal_limit, fx_markup_percent
        policy.rate_feed = rate_feed
        policy.save()
        policy.refresh_from_db()  # the values as stored (and as `before` was read)
        after = snapshot(policy, POLICY_FIELDS)
        if after != before:
            audit_log(actor=actor, action="payments.policy.updated", obj=policy, before=before, after=after)
    return policy
