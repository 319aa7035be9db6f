"""The rules a withdrawal must pass before anything is paid, and the route it takes to approval.

Refusals (raised at request time, shown to the client): method or currency not
offered, a bad amount, outside the method's limits, no more than the fee, KYC
not approved, return-to-source, over the daily limit. Limits are in the
tenant's base currency; when an amount cannot be converted (no rate), the
withdrawal is not refused and not auto-approved: it goes to a person, who is told why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.money import money_text, quantize
from crm.models import Client
from kyc.requirements import withdrawal_refusal
from payments.ledger import amount_clean
from payments.models import Deposit, MethodCurrency, PaymentMethod, PaymentPolicy, Withdrawal
from payments.rates import RateUnavailable, amount_in

# Withdrawals that count against the daily limit: waiting, on their way, or paid.
COUNTED_TODAY = (
    Withdrawal.Status.PENDING_REVIEW,
    Withdrawal.Status.PENDING_SECOND_APPROVAL,
    Withdrawal.Status.APPROVED,
    Withdrawal.Status.PROCESSING,
    Withdrawal.Status.PAID,
)
# Card withdrawals that did not and will not reach the card.
NOT_RETURNED = (Withdrawal.Status.FAILED, Withdrawal.Status.REJECTED, Withdrawal.Status.CANCELLED)


def base_currency() -> str:
    return connection.tenant.base_currency


def base_amount(amount: Decimal, currency: str) -> Decimal | None:
    """The amount in the tenant's base currency, or None when no rate converts it."""
    try:
        return amount_in(amount, currency, base_currency())
    except RateUnavailable:
        return None


def _no_rate(currency: str) -> str:
    return f"No {currency}/{base_currency()} exchange rate: the amount could not be checked against the limits."


# The quote: method, currency, amount, fee ---------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    method: PaymentMethod
    currency: str
    amount: Decimal
    fee: Decimal
    limits: MethodCurrency

    @property
    def receives(self) -> Decimal:
        return self.amount - self.fee


def withdrawal_quote(*, method: PaymentMethod, currency: str, amount: Decimal) -> Quote:
    """Fee and net amount of a withdrawal, or the reason it cannot be made this way."""
    if not method.withdrawals_enabled:
        raise ApplicationError(f"{method} does not pay out.", fields={"method": ["Not available for withdrawals."]})
    amount = amount_clean(amount, currency)
    limits = MethodCurrency.objects.filter(method=method, currency=currency).first()
    if limits is None:
        raise ApplicationError(
            f"{method} does not pay out in {currency}.",
            fields={"currency": [f"{method} does not pay out in {currency}."]},
        )
    if amount < limits.min_amount:
        raise ApplicationError(
            f"The smallest {method} withdrawal is {money_text(limits.min_amount, currency)}.",
            fields={"amount": [f"At least {money_text(limits.min_amount, currency)}."]},
        )
    if amount > limits.max_amount:
        raise ApplicationError(
            f"The largest {method} withdrawal is {money_text(limits.max_amount, currency)}.",
            fields={"amount": [f"At most {money_text(limits.max_amount, currency)}."]},
        )
    fee = quantize(limits.fee_fixed + amount * method.fee_percent / 100, currency)
    if amount <= fee:
        raise ApplicationError(
            f"The fee ({money_text(fee, currency)}) would take the whole amount.",
            fields={"amount": [f"More than the fee of {money_text(fee, currency)}."]},
        )
    return Quote(method=method, currency=currency, amount=amount, fee=fee, limits=limits)


# Refusals -----------------------------------------------------------------------------------------


def kyc_check(client: Client) -> None:
    """Withdrawals need an approved KYC file (the status, not the level: the KYC issue says so)."""
    if client.kyc_status != Client.KycStatus.APPROVED:
        reason = withdrawal_refusal(client) or (
            f"Withdrawals open once your identity is verified (KYC: {client.get_kyc_status_display().lower()})."
        )
        raise ApplicationError(
            f"{reason} See what is missing on the Verification page ({reverse('portal:kyc_status')}).",
            code="kyc_required",
        )


def return_to_source_owed(client: Client, currency: str) -> Decimal:
    """What must still go back to the client's cards in this currency before other methods are used.

    Completed card deposits minus card withdrawals that were not failed, rejected or cancelled; zero
    when that is below what a card withdrawal may be, or no card method pays out in the currency.
    """
    deposited = Deposit.objects.filter(
        client=client, currency=currency, method__kind=PaymentMethod.Kind.CARD, status=Deposit.Status.COMPLETED
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    withdrawn = (
        Withdrawal.objects.filter(client=client, currency=currency, method__kind=PaymentMethod.Kind.CARD)
        .exclude(status__in=NOT_RETURNED)
        .aggregate(total=Sum("amount"))["total"]
    ) or Decimal(0)
    owed = max(deposited - withdrawn, Decimal(0))
    # A remainder smaller than the smallest card withdrawal can never go back to the card (fees
    # leave such remainders); holding the client to it would block every withdrawal.
    smallest = MethodCurrency.objects.filter(
        method__kind=PaymentMethod.Kind.CARD, method__withdrawals_enabled=True, currency=currency
    ).aggregate(smallest=Min("min_amount"))["smallest"]
    return owed if smallest is not None and owed >= smallest else Decimal(0)


def return_to_source_check(*, client: Client, method: PaymentMethod, currency: str, amount: Decimal) -> None:
    owed = return_to_source_owed(client, currency)
    if method.kind == PaymentMethod.Kind.CARD:
        if amount > owed:
            message = (
                f"At most {money_text(owed, currency)} can go back to your card (what you deposited with it); "
                "withdraw the rest by another method."
                if owed
                else f"Nothing you deposited by card in {currency} is left to return to it; choose another method."
            )
            raise ApplicationError(message, fields={"amount": [message]}, code="return_to_source")
    elif owed:
        message = (
            f"You deposited by card: {money_text(owed, currency)} must first go back to your card (return to source). "
            "Withdraw that amount by card, then use other methods."
        )
        raise ApplicationError(message, fields={"method": [message]}, code="return_to_source")


def withdrawn_today(client: Client) -> dict[str, Decimal]:
    """Today's withdrawals (waiting, on their way or paid) per currency."""
    rows = (
        Withdrawal.objects.filter(client=client, status__in=COUNTED_TODAY, created_at__date=timezone.localdate())
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: row["total"] for row in rows}


def daily_limit_check(*, client: Client, currency: str, amount: Decimal, policy: PaymentPolicy) -> list[str]:
    """Refuse what would pass today's limit; return review reasons when a currency cannot be converted."""
    limit = policy.daily_withdrawal_limit
    if not limit:
        return []
    totals = withdrawn_today(client)
    totals[currency] = totals.get(currency, Decimal(0)) + amount
    used = Decimal(0)
    reasons = []
    for other, total in totals.items():
        converted = base_amount(total, other)
        if converted is None:
            reasons.append(_no_rate(other))
        else:
            used += converted
    if used > limit:
        before = used - (base_amount(amount, currency) or Decimal(0))
        left = max(limit - before, Decimal(0))
        message = (
            f"This is over your daily withdrawal limit of {money_text(limit, base_currency())} "
            f"({money_text(left, base_currency())} left today)."
        )
        raise ApplicationError(message, fields={"amount": [message]}, code="daily_limit")
    return reasons


# The route to approval ----------------------------------------------------------------------------


@dataclass
class Route:
    """How a new withdrawal proceeds: paid with no staff action, or reviewed (by one or two people)."""

    auto_approve: bool
    needs_four_eyes: bool
    review_reasons: list[str] = field(default_factory=list)


def approval_route(
    *, withdrawal: Withdrawal, policy: PaymentPolicy, flags: list[str], amount_base: Decimal | None
) -> Route:
    """Auto-approve when enabled, within the limit, the client is low-risk and nothing flagged it."""
    reasons = list(dict.fromkeys(flags))
    if amount_base is None:
        reasons.append(_no_rate(withdrawal.currency))
    if withdrawal.client.risk_level == Client.RiskLevel.HIGH:
        reasons.append("The client's risk level is high.")
    needs_four_eyes = amount_base is None or amount_base > policy.four_eyes_threshold
    auto = (
        policy.auto_approve_limit > 0
        and amount_base is not None
        and amount_base <= policy.auto_approve_limit
        and withdrawal.client.risk_level == Client.RiskLevel.LOW
        and not reasons
        and not needs_four_eyes
    )
    return Route(auto_approve=auto, needs_four_eyes=needs_four_eyes, review_reasons=list(dict.fromkeys(reasons)))
