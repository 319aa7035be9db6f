"""Trading accounts on the platforms, mirrored with their last reported state, and the tenant's rules."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from brokerage.money import FIAT_CURRENCY_CHOICES
from payments.models.ledger import AMOUNT


def _default_leverages() -> list[int]:
    return [10, 30, 50, 100, 200, 500]


def _default_currencies() -> list[str]:
    return ["USD", "EUR"]


class TradingPolicy(models.Model):
    """The tenant's trading rules (one row): leverage clients may choose, account currencies, demo money."""

    leverage_choices = ArrayField(models.PositiveIntegerField(), default=_default_leverages)
    default_leverage = models.PositiveIntegerField(default=30)
    account_currencies = ArrayField(models.CharField(max_length=8), default=_default_currencies)
    demo_balance = models.DecimalField(max_digits=20, decimal_places=2, default=10000)
    max_accounts_per_client = models.PositiveSmallIntegerField(default=5)
    # Account state older than this is shown as stale in the portal and in /ops/.
    state_stale_after_seconds = models.PositiveIntegerField(default=300)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "trading policy"

    def __str__(self) -> str:
        return "Trading policy"

    @classmethod
    def current(cls) -> "TradingPolicy":
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class TradingAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    # Logins are unique in a tenant, not only per platform: payments finds an account by login alone,
    # so the tenant's platforms must use distinct login ranges (as MT5 groups do).
    login = models.CharField(max_length=40, unique=True)
    platform = models.ForeignKey("trading.Platform", on_delete=models.PROTECT, related_name="accounts")
    # Null for accounts the sync found on the platform that no client of ours owns (yet).
    client = models.ForeignKey(
        "crm.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="trading_accounts"
    )
    is_demo = models.BooleanField(default=False)
    group = models.CharField(max_length=100)
    leverage = models.PositiveIntegerField()
    currency = models.CharField(max_length=8, choices=FIAT_CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # As last reported by the platform; never computed here.
    balance = models.DecimalField(**AMOUNT, default=0)
    credit = models.DecimalField(**AMOUNT, default=0)
    equity = models.DecimalField(**AMOUNT, default=0)
    margin = models.DecimalField(**AMOUNT, default=0)
    margin_free = models.DecimalField(**AMOUNT, default=0)
    # Percent (equity / margin × 100); null while no margin is used.
    margin_level = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    state_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "is_demo"])]

    def __str__(self) -> str:
        return f"{self.login} ({'demo' if self.is_demo else 'live'}, {self.currency})"
