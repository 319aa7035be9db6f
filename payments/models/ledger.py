"""The double-entry ledger: accounts, transactions, lines and holds.

Sign convention: a line's amount is what it adds to its account's balance.
Client wallets, revenue and payables are positive when the broker owes or has
earned; PSP clearing (money a PSP owes the broker) runs negative. Every
transaction's lines sum to zero per currency; PostgreSQL checks it at commit
(migration 0002) and refuses UPDATE and DELETE of posted rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from brokerage.money import CURRENCY_CHOICES

AMOUNT = {"max_digits": 30, "decimal_places": 8}


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        CLIENT_WALLET = "client_wallet", "Client wallet"
        CLIENT_TRADING = "client_trading", "Client trading accounts"
        PSP_CLEARING = "psp_clearing", "PSP clearing"
        BROKER_REVENUE = "broker_revenue", "Broker revenue"
        FEES = "fees", "Fee income"
        FX_CONVERSION = "fx_conversion", "FX conversion"
        IB_COMMISSION_PAYABLE = "ib_commission_payable", "IB commission payable"
        SUSPENSE = "suspense", "Suspense"
        # The broker's side of clients' trading results (profit, swap, commission, platform corrections).
        TRADING_RESULT = "trading_result", "Trading results"

    # Stable, readable identity, e.g. "wallet:42:USD" or "psp_clearing:card:EUR".
    code = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    client = models.ForeignKey(
        "crm.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    name = models.CharField(max_length=200)
    # Maintained only by payments.ledger under a row lock; verify_ledger proves them.
    balance = models.DecimalField(**AMOUNT, default=0)
    held = models.DecimalField(**AMOUNT, default=0)
    allow_negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allow_negative=True) | (Q(balance__gte=0) & Q(balance__gte=F("held"))),
                name="ledger_account_not_overdrawn",
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="ledger_account_held_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def available(self):
        return self.balance - self.held


class LedgerTransaction(models.Model):
    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        CONVERSION = "conversion", "Conversion"
        TRANSFER = "transfer", "Transfer"
        TRADING_TRANSFER = "trading_transfer", "Trading account transfer"
        COMMISSION = "commission", "Commission"
        ADJUSTMENT = "adjustment", "Adjustment"
        REVERSAL = "reversal", "Reversal"
        TRADING_RESULT = "trading_result", "Trading result"

    # The idempotency key of the posting: the same reference never posts twice.
    reference = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    description = models.CharField(max_length=300, blank=True)
    client = models.ForeignKey(
        "crm.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_transactions"
    )
    posted_at = models.DateTimeField(db_index=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"


class LedgerLine(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines")
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    amount = models.DecimalField(**AMOUNT)
    # The account's balance right after this line (lines of an account ordered by id).
    balance_after = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"], name="ledger_line_account_seq")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_line_amount_not_zero")]

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount}"


class Hold(models.Model):
    """Funds reserved on an account (a withdrawal in flight): pending until captured or released."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CAPTURED = "captured", "Captured"
        RELEASED = "released", "Released"

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = models.DecimalField(**AMOUNT)
    reference = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="captured_holds"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive")]

    def __str__(self) -> str:
        return f"Hold {self.reference} {self.amount} {self.account.currency}"
