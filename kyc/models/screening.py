from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Client


class ScreeningHit(models.Model):
    """A watchlist entry that matched a client closely enough for a person to decide.

    A hit is keyed by the entry (list source + the list's own id) and the entry's content hash: once
    someone marks it a false positive, screening the same client against the same entry finds the
    existing row and raises nothing, until the list changes that entry (a new hash makes a new hit).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FALSE_POSITIVE = "false_positive", "False positive"
        CONFIRMED = "confirmed", "Confirmed match"

    class Trigger(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        PROFILE_CHANGE = "profile_change", "Profile change"
        LIST_UPDATE = "list_update", "Watchlist update"
        MANUAL = "manual", "Screened by staff"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="screening_hits")
    source = models.CharField(max_length=20)
    entry_id = models.CharField(max_length=100)
    entry_hash = models.CharField(max_length=64)
    # What the entry said when it matched (names, dates of birth, nationalities, programmes, PEP),
    # so the hit reads the same after the list moves on.
    entry = models.JSONField()
    is_pep = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField()
    # Which client name matched which list name, and how date of birth and nationality moved the score.
    explanation = models.JSONField()
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "source", "entry_id", "entry_hash"], name="kyc_hit_once_per_entry_version"
            )
        ]
        indexes = [models.Index(fields=["client"], name="kyc_hit_open", condition=Q(status="open"))]

    def __str__(self) -> str:
        return f"{self.source}:{self.entry_id} on {self.client_id} ({self.score})"


class ScreeningRun(models.Model):
    """One screening of one client: when, why, against which list versions, with what result."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="screening_runs")
    trigger = models.CharField(max_length=20, choices=ScreeningHit.Trigger.choices)
    list_versions = models.JSONField(default=list)
    names_screened = models.JSONField(default=list)
    candidates = models.PositiveIntegerField(default=0)
    new_hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"], name="kyc_run_client_recent")]

    def __str__(self) -> str:
        return f"Screening of {self.client_id} ({self.trigger})"


class RescreenJob(models.Model):
    """Re-screening of every client of the tenant after a watchlist load, in committed chunks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    list_version = models.PositiveIntegerField(help_text="watchlists.ListVersion id that started it")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    new_hits = models.PositiveIntegerField(default=0)
    # Clients are taken in id order; a resumed job starts after the last id it committed.
    last_client_id = models.BigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Re-screening after list version {self.list_version}: {self.status}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
