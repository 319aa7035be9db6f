"""Payment methods a tenant offers, with their fees and limits per currency, and its payment policy."""

from django.db import models
from django.db.models import Q

from brokerage.fields import EncryptedTextField
from brokerage.money import CURRENCY_CHOICES
from payments.models.ledger import AMOUNT


class PaymentMethod(models.Model):
    class Kind(models.TextChoices):
        CARD = "card", "Card"
        BANK_WIRE = "bank_wire", "Bank wire"
        CRYPTO = "crypto", "Crypto"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Key of the adapter in payments.adapters.registry, e.g. "sandbox_card".
    provider = models.CharField(max_length=40)
    deposits_enabled = models.BooleanField(default=True)
    withdrawals_enabled = models.BooleanField(default=True)
    fee_percent = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    # Signs webhooks from the provider; encrypted at rest, never shown back in full.
    webhook_secret = EncryptedTextField(blank=True)
    # Provider settings that are not secret (bank details for wire instructions, confirmations, ...).
    settings = models.JSONField(default=dict, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=50)

    class Meta:
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(fee_percent__gte=0, fee_percent__lt=100), name="method_fee_percent")
        ]

    def __str__(self) -> str:
        return self.name


class MethodCurrency(models.Model):
    """A currency a method accepts, with the fixed fee and the amount limits in that currency."""

    method = models.ForeignKey(PaymentMethod, on_delete=models.CASCADE, related_name="currencies")
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    fee_fixed = models.DecimalField(**AMOUNT, default=0)
    min_amount = models.DecimalField(**AMOUNT)
    max_amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["method", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["method", "currency"], name="method_currency_unique"),
            models.CheckConstraint(
                condition=Q(min_amount__gt=0, max_amount__gte=models.F("min_amount"), fee_fixed__gte=0),
                name="method_currency_limits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.currency}"


class PaymentPolicy(models.Model):
    """The tenant's payment rules (one row per tenant schema). Amounts are in the tenant's base currency."""

    class RateFeed(models.TextChoices):
        DEMO = "demo", "Built-in demo rates (offline, every minute)"
        ECB = "ecb", "ECB euro reference rates (fetched every hour)"
        MANUAL = "manual", "None: rates are imported or entered by staff"

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    # Withdrawals up to this amount, by low-risk clients, are paid with no staff action (0 turns it off).
    auto_approve_limit = models.DecimalField(**AMOUNT, default=0)
    # Above this amount a second finance officer must approve (the four-eyes rule).
    four_eyes_threshold = models.DecimalField(**AMOUNT, default=10000)
    # Total a client may withdraw per calendar day (0 means no limit).
    daily_withdrawal_limit = models.DecimalField(**AMOUNT, default=50000)
    # Markup over the mid rate on conversions, in percent, kept by the broker.
    fx_markup_percent = models.DecimalField(max_digits=7, decimal_places=4, default="0.5")
    # Where the scheduled rate refresh takes rates from.
    rate_feed = models.CharField(max_length=10, choices=RateFeed.choices, default=RateFeed.DEMO)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "payment policy"

    def __str__(self) -> str:
        return "Payment policy"

    @classmethod
    def current(cls) -> "PaymentPolicy":
        policy, _ = cls.objects.get_or_create(singleton=True)
        return policy
