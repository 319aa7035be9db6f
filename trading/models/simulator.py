"""The built-in simulator's own server state. The back office sees it only through the connector,
exactly as it sees an MT5 server: these tables are the "platform side", never read by pages."""

from django.db import models

from payments.models.ledger import AMOUNT
from trading.models.deals import VOLUME
from trading.models.symbols import PRICE


class SimAccount(models.Model):
    platform = models.ForeignKey("trading.Platform", on_delete=models.CASCADE, related_name="sim_accounts")
    login = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    group = models.CharField(max_length=100)
    leverage = models.PositiveIntegerField()
    currency = models.CharField(max_length=8)
    balance = models.DecimalField(**AMOUNT, default=0)
    credit = models.DecimalField(**AMOUNT, default=0)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "login"], name="simaccount_unique_login")]

    def __str__(self) -> str:
        return f"sim {self.login}"


class SimPosition(models.Model):
    """An open position on the simulator; its id is the position ticket."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4)  # "buy" / "sell"
    volume = models.DecimalField(**VOLUME)
    open_price = models.DecimalField(**PRICE)
    swap = models.DecimalField(**AMOUNT, default=0)
    opened_at = models.DateTimeField()
    # The last trading day whose rollover swap is in `swap`: each rollover is charged once.
    swap_charged_to = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sim position {self.pk}"


class SimDeal(models.Model):
    """A deal booked by the simulator; its id is the deal ticket (positive, increasing)."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="deals")
    time = models.DateTimeField(db_index=True)
    symbol = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=12)
    entry = models.CharField(max_length=8, default="in")
    order = models.BigIntegerField(null=True, blank=True)
    position_id = models.BigIntegerField(null=True, blank=True)
    volume = models.DecimalField(**VOLUME, default=0)
    price = models.DecimalField(**PRICE, default=0)
    profit = models.DecimalField(**AMOUNT, default=0)
    commission = models.DecimalField(**AMOUNT, default=0)
    swap = models.DecimalField(**AMOUNT, default=0)
    fee = models.DecimalField(**AMOUNT, default=0)
    comment = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "time"])]

    def __str__(self) -> str:
        return f"sim deal {self.pk}"
