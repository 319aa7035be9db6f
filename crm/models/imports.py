from django.conf import settings
from django.db import models

from crm.models.clients import Client


class LeadImport(models.Model):
    """One uploaded lead file: parsed into rows at upload, imported in committed chunks.

    A crash leaves rows still `pending`; running the import again carries on from them.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=200)
    encoding = models.CharField(max_length=20)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Client field -> column name in the file")
    source = models.CharField(max_length=20, default=Client.Source.IMPORT)
    source_detail = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class LeadImportRow(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        IMPORTED = "imported", "Imported"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(help_text="Line number in the file, header = 1")
    values = models.JSONField(default=list)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    problems = models.JSONField(default=list)
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["lead_import", "outcome", "line"], name="crm_import_row_outcome")]

    def __str__(self) -> str:
        return f"{self.lead_import_id}:{self.line}"
