from django.db import models

from brokerage.money import CURRENCY_CHOICES


class VerificationLevel(models.Model):
    """A step of trust a tenant grants once its requirements are met, and what it allows.

    Levels are cumulative: a client holds the highest level whose requirements, and those of every
    lower level, are met. Requirement codes are in REQUIREMENTS.
    """

    REQUIREMENTS = {
        "profile": "Personal and financial profile",
        "questionnaire": "Appropriateness questionnaire",
        "identity": "Identity document",
        "address": "Proof of address",
        "selfie": "Selfie",
        "approval": "Approval by our compliance team",
    }

    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=60)
    requirements = models.JSONField(default=list, blank=True)
    # None: no deposit limit at this level. The limit counts all completed deposits, in limit_currency.
    deposit_limit = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    limit_currency = models.CharField(max_length=4, choices=CURRENCY_CHOICES, default="USD")
    allows_deposits = models.BooleanField(default=True)
    allows_withdrawals = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"Level {self.number}: {self.name}"


class KycSettings(models.Model):
    """The tenant's KYC policy: one row per tenant schema (pk=1)."""

    class Provider(models.TextChoices):
        BUILTIN = "builtin", "Built-in checks"
        SUMSUB = "sumsub", "Sumsub"
        ONFIDO = "onfido", "Onfido"

    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.BUILTIN)
    # Webhook secret of the vendor (Sumsub secret key, Onfido webhook token), encrypted at rest.
    vendor_webhook_secret = models.TextField(blank=True)
    vendor_api_token = models.TextField(blank=True)
    # Files that pass every automatic check, with clean screening and a risk below high, are approved
    # without a person; otherwise they wait in the review queue. Off by default: the built-in checks
    # compare what the client typed from a document (MRZ lines, a bill's text), not the image itself,
    # so only a tenant with an OCR step or a vendor reading the documents should turn it on.
    auto_approve = models.BooleanField(default=False)
    review_sla_hours = models.PositiveSmallIntegerField(default=24)
    address_max_age_months = models.PositiveSmallIntegerField(default=3)
    expiry_notice_days = models.PositiveSmallIntegerField(default=30)
    # Score from which a watchlist candidate becomes a hit (0-100).
    screening_threshold = models.PositiveSmallIntegerField(default=85)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "KYC settings"

    def __str__(self) -> str:
        return f"KYC settings ({self.get_provider_display()})"

    @classmethod
    def current(cls) -> "KycSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings
