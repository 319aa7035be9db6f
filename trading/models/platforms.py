"""A connection to a trading server: the built-in simulator or an MT5 server's Web API."""

from django.db import models

from brokerage.fields import EncryptedTextField


class Platform(models.Model):
    class Kind(models.TextChoices):
        SIMULATOR = "simulator", "Built-in simulator"
        MT5 = "mt5", "MetaTrader 5 (Web API)"

    class Environment(models.TextChoices):
        LIVE = "live", "Live"
        DEMO = "demo", "Demo"

    class Health(models.TextChoices):
        UNKNOWN = "unknown", "Not checked yet"
        OK = "ok", "Connected"
        ERROR = "error", "Error"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Live accounts hold clients' money; demo accounts hold play money and never touch the ledger.
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    # MT5: the Web API's base URL, e.g. "https://mt5.example.com:443". Empty for the simulator.
    server = models.CharField(max_length=200, blank=True)
    manager_login = models.CharField(max_length=40, blank=True)
    manager_password = EncryptedTextField(blank=True)
    # Signs real-time events a bridge on the trading server pushes to /trading/push/<code>/ (HMAC-SHA256).
    push_secret = EncryptedTextField(blank=True)
    # Group new accounts are opened in, e.g. "real\\standard" (MT5) or "sim-live".
    default_group = models.CharField(max_length=100, default="standard")
    # Logins the back office opens on this platform: LOGIN_RANGE_SIZE numbers from here (MT5 group login
    # ranges work the same way). Ranges of a tenant's platforms never overlap: logins are unique per tenant.
    login_range_start = models.PositiveBigIntegerField(default=100000)
    is_active = models.BooleanField(default=True)

    # Health: written by every connector call that reaches (or fails to reach) the server.
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_message = models.CharField(max_length=300, blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # Sync cursor: deals are pulled from this platform time onward (with an overlap; upserts dedupe).
    deals_synced_to = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    LOGIN_RANGE_SIZE = 100_000

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def login_range_end(self) -> int:
        return self.login_range_start + self.LOGIN_RANGE_SIZE - 1

    @property
    def is_demo(self) -> bool:
        return self.environment == self.Environment.DEMO
