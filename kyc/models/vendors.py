from django.db import models

from crm.models import Client


class VendorEvent(models.Model):
    """A webhook delivery from a KYC vendor, stored once per provider event id (retries are no-ops)."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        UNKNOWN_CLIENT = "unknown_client", "No such client"

    provider = models.CharField(max_length=10)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=60)
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    payload = models.JSONField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="kyc_vendor_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"
