from django.db import models
from django.db.models import Q

from crm.models.clients import Client


class TimelineEvent(models.Model):
    """One thing that happened to a client, from any module; written by crm.timeline only."""

    class Kind(models.TextChoices):
        PROFILE = "profile", "Profile"
        NOTE = "note", "Note"
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        TASK = "task", "Task"
        KYC = "kyc", "KYC"
        PAYMENTS = "payments", "Payments"
        TRADING = "trading", "Trading"
        PARTNERS = "partners", "Partners"
        RISK = "risk", "Risk"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    topic = models.CharField(max_length=100, help_text="What happened, e.g. payments.deposit.completed")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="The page of the thing itself")
    actor_label = models.CharField(max_length=254, blank=True)
    # Where it came from ("outbox:123", "note:45"), so a redelivered event is not recorded twice.
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["client", "-occurred_at", "-id"], name="crm_timeline_client")]
        constraints = [models.UniqueConstraint(fields=["source"], condition=~Q(source=""), name="crm_timeline_source")]

    def __str__(self) -> str:
        return self.title
