from django.conf import settings
from django.db import models


class Client(models.Model):
    """A trader of the broker. The CRM issue grows this into the full profile."""

    class Status(models.TextChoices):
        LEAD = "lead", "Lead"
        REGISTERED = "registered", "Registered"
        VERIFIED = "verified", "Verified"
        FUNDED = "funded", "Funded"
        ACTIVE = "active", "Active"
        DORMANT = "dormant", "Dormant"
        CLOSED = "closed", "Closed"

    class KycStatus(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        PENDING = "pending", "Under review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class RiskLevel(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="client"
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REGISTERED, db_index=True)
    # Read by withdrawal checks; the KYC issue takes ownership of how they are set.
    kyc_status = models.CharField(max_length=20, choices=KycStatus.choices, default=KycStatus.NOT_STARTED)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, default=RiskLevel.MEDIUM)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email
