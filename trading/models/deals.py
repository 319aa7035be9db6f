"""What the platforms report: deals (immutable history) and open positions, plus sync problems."""

from django.db import models

from payments.models.ledger import AMOUNT
from trading.models.symbols import PRICE

VOLUME = {"max_digits": 16, "decimal_places": 4}


class Deal(models.Model):
    """A deal as the platform booked it. Profit, swap, commission and fee are stored, never recomputed."""

    class Action(models.TextChoices):
        # MT5 deal actions, by number: 0 buy, 1 sell, 2 balance, 3 credit, 4 charge, 5 correction, 6 bonus.
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"
        BALANCE = "balance", "Balance"
        CREDIT = "credit", "Credit"
        CHARGE = "charge", "Charge"
        CORRECTION = "correction", "Correction"
        BONUS = "bonus", "Bonus"

    class Entry(models.TextChoices):
        IN = "in", "In"
        OUT = "out", "Out"
        INOUT = "inout", "Reverse"
        OUT_BY = "out_by", "Close by"

    class Booking(models.TextChoices):
        # Whether the deal's money is in the ledger (live accounts' client trading funds).
        NONE = "none", "No money moved"
        BOOKED = "booked", "Booked"
        TRANSFER = "transfer", "Our own transfer"
        HISTORY = "history", "Back-filled history"
        DEMO = "demo", "Demo account"
        PENDING = "pending", "Not booked yet"

    # Deals are an append-only fact table filled in bulk (millions of rows). Its references carry no
    # database constraint and no index of their own: loaders resolve them by join, the ORM's PROTECT
    # keeps referenced rows, and the composite indexes below serve every lookup. Without per-row
    # foreign-key triggers a back-fill runs about twice as fast.
    platform = models.ForeignKey(
        "trading.Platform", on_delete=models.PROTECT, related_name="deals", db_constraint=False, db_index=False
    )
    ticket = models.BigIntegerField()
    login = models.CharField(max_length=40)
    account = models.ForeignKey(
        "trading.TradingAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        db_constraint=False,
        db_index=False,
    )
    time = models.DateTimeField()
    # The name the platform reported, and the instrument it resolves to (null: unknown, see SyncProblem).
    symbol_name = models.CharField(max_length=40, blank=True)
    symbol = models.ForeignKey(
        "trading.Symbol",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    entry = models.CharField(max_length=8, choices=Entry.choices, default=Entry.IN)
    order = models.BigIntegerField(null=True, blank=True)
    position_id = models.BigIntegerField(null=True, blank=True)
    volume = models.DecimalField(**VOLUME, default=0)
    price = models.DecimalField(**PRICE, default=0)
    profit = models.DecimalField(**AMOUNT, default=0)
    commission = models.DecimalField(**AMOUNT, default=0)
    swap = models.DecimalField(**AMOUNT, default=0)
    fee = models.DecimalField(**AMOUNT, default=0)
    comment = models.CharField(max_length=64, blank=True)
    booking = models.CharField(max_length=10, choices=Booking.choices, default=Booking.NONE)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time", "-ticket"]
        constraints = [models.UniqueConstraint(fields=["platform", "ticket"], name="deal_unique_ticket")]
        indexes = [
            models.Index(fields=["login", "-time"]),
            models.Index(fields=["account", "-time"]),
            models.Index(fields=["-time"]),
            # The sync retries these every few seconds; without it the retry scans the whole table.
            models.Index(
                fields=["platform", "account"], condition=models.Q(booking="pending"), name="deal_pending_booking"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket} {self.login} {self.action} {self.volume} {self.symbol_name}"

    # Balance deals of our own wallet transfers carry the transfer's operation id ("bo-...") first.
    TRANSFER_PREFIX = "bo-"

    @property
    def money(self):
        """What the deal did to the account's balance."""
        return self.profit + self.commission + self.swap + self.fee

    @property
    def is_wallet_transfer(self) -> bool:
        return self.action == self.Action.BALANCE and self.comment.startswith(self.TRANSFER_PREFIX)

    @property
    def description(self) -> str:
        """What the deal was, in words: our wallet transfers by their direction (the platform keeps only
        32 characters of a comment, so their text may be cut), any other deal by its comment."""
        if self.is_wallet_transfer:
            return "Transfer from wallet" if self.profit > 0 else "Transfer to wallet"
        return self.comment


class Position(models.Model):
    """An open position as last reported; closed ones are removed by the sync."""

    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    platform = models.ForeignKey("trading.Platform", on_delete=models.PROTECT, related_name="positions")
    ticket = models.BigIntegerField()
    login = models.CharField(max_length=40)
    account = models.ForeignKey(
        "trading.TradingAccount", on_delete=models.CASCADE, null=True, blank=True, related_name="positions"
    )
    symbol_name = models.CharField(max_length=40)
    symbol = models.ForeignKey("trading.Symbol", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    volume = models.DecimalField(**VOLUME)
    open_price = models.DecimalField(**PRICE)
    current_price = models.DecimalField(**PRICE)
    profit = models.DecimalField(**AMOUNT, default=0)
    swap = models.DecimalField(**AMOUNT, default=0)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-opened_at", "-ticket"]
        constraints = [models.UniqueConstraint(fields=["platform", "ticket"], name="position_unique_ticket")]
        indexes = [models.Index(fields=["login"])]

    def __str__(self) -> str:
        return f"#{self.ticket} {self.login} {self.side} {self.volume} {self.symbol_name}"


class SyncProblem(models.Model):
    """Something the sync could not take as it came: shown in /ops/ until resolved."""

    class Kind(models.TextChoices):
        UNKNOWN_SYMBOL = "unknown_symbol", "Unknown symbol"
        UNKNOWN_LOGIN = "unknown_login", "Unknown login"
        WRONG_PLATFORM = "wrong_platform", "Deal for another platform"
        MALFORMED = "malformed", "Malformed event"
        BOOKING = "booking", "Could not book into the ledger"
        CONNECTION = "connection", "Platform unreachable"

    platform = models.ForeignKey("trading.Platform", on_delete=models.CASCADE, related_name="problems")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What it is about: a symbol name, a login, a ticket; one open problem per (platform, kind, subject).
    subject = models.CharField(max_length=100)
    message = models.CharField(max_length=500)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "kind", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="syncproblem_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
