"""Exchange rates, conversions between a client's wallets, and transfers to trading accounts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokerage.money import CURRENCY_CHOICES
from payments.models.ledger import AMOUNT, Hold, LedgerTransaction

RATE = {"max_digits": 24, "decimal_places": 10}


class ExchangeRate(models.Model):
    """Mid rate: 1 `base` = `rate` `quote`, as published by `source` at `as_of`."""

    base = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    quote = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(**RATE)
    source = models.CharField(max_length=40)
    as_of = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "base", "quote"]
        indexes = [models.Index(fields=["base", "quote", "-as_of"], name="rate_pair_latest")]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "source", "as_of"], name="rate_unique_per_source"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="rate_positive"),
            models.CheckConstraint(condition=~Q(base=models.F("quote")), name="rate_distinct_currencies"),
        ]

    def __str__(self) -> str:
        return f"{self.base}/{self.quote} {self.rate}"


class Conversion(models.Model):
    """One exchange between two of a client's wallets, at the mid rate less the tenant's markup."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey("crm.Client", on_delete=models.PROTECT, related_name="conversions")
    # Chosen by the caller (portal form, API Idempotency-Key): the same key converts once.
    request_key = models.CharField(max_length=255)
    from_currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    from_amount = models.DecimalField(**AMOUNT)
    to_currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    to_amount = models.DecimalField(**AMOUNT)
    mid_rate = models.DecimalField(**RATE)
    rate = models.DecimalField(**RATE, help_text="The rate the client got, after the markup")
    markup_percent = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    revenue = models.DecimalField(**AMOUNT, help_text="Broker's markup, in the target currency")
    rate_source = models.CharField(max_length=60)
    rate_as_of = models.DateTimeField(null=True, blank=True, help_text="When the (oldest) rate used was published")
    transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="conversion")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "request_key"], name="conversion_once_per_key"),
            models.CheckConstraint(
                condition=Q(from_amount__gt=0, to_amount__gt=0, revenue__gte=0, rate__gt=0, mid_rate__gt=0),
                name="conversion_amounts",
            ),
            models.CheckConstraint(
                condition=~Q(from_currency=models.F("to_currency")), name="conversion_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_amount} {self.from_currency} → {self.to_amount} {self.to_currency}"


class TradingTransfer(models.Model):
    """Money between a wallet and a trading account; the trading issue supplies the platform call."""

    class Direction(models.TextChoices):
        TO_ACCOUNT = "to_account", "Wallet → trading account"
        TO_WALLET = "to_wallet", "Trading account → wallet"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        REVERSED = "reversed", "Reversed"

    # status -> statuses it may move to; changed only by payments.wallets.trading (compare-and-swap).
    TRANSITIONS = {Status.PENDING: {Status.COMPLETED, Status.REVERSED}, Status.COMPLETED: set(), Status.REVERSED: set()}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey("crm.Client", on_delete=models.PROTECT, related_name="trading_transfers")
    account_login = models.CharField(max_length=40)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    amount = models.DecimalField(**AMOUNT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    platform_reference = models.CharField(max_length=120, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="trading_transfer"
    )
    # From a trading account: the credited wallet funds stay held until the platform has paid them out.
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, null=True, blank=True, related_name="trading_transfer")
    # Set (and committed) just before the platform call: a transfer is never sent twice, and
    # one sent without an answer is settled by looking for its operation on the platform.
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="trading_transfer_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.amount} {self.currency}"

    @property
    def operation_id(self) -> str:
        """Our id of the platform's balance operation: short enough for MT5's 32-character comment."""
        return f"bo-{self.public_id.hex[:16]}"
