from django.db import models
from django.db.models import Q


class ListVersion(models.Model):
    """One load of one list. The newest complete load of a source is its current version; older ones
    stay so every screening hit can say which version it came from."""

    class Source(models.TextChoices):
        OFAC_SDN = "ofac_sdn", "OFAC SDN"
        EU = "eu", "EU consolidated list"
        UN = "un", "UN Security Council list"
        OPENSANCTIONS = "opensanctions", "OpenSanctions"
        DEMO = "demo", "Demo sample"

    source = models.CharField(max_length=20, choices=Source.choices)
    format = models.CharField(max_length=20)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    entry_count = models.PositiveIntegerField(default=0)
    # Entries added, changed (new content hash) and removed against the previous current version.
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    is_current = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source"], condition=Q(is_current=True), name="watchlist_one_current")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.entry_count} entries)"


class Entry(models.Model):
    """A listed person or organisation as one version of a list published it.

    Dates of birth are ISO strings as precise as the list is ("1970", "1970-03", "1970-03-01");
    nationalities are ISO 3166 alpha-2 codes. `content_hash` covers everything screening reads, so a
    changed entry is told apart from the same one loaded again.
    """

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ORGANISATION = "organisation", "Organisation"
        VESSEL = "vessel", "Vessel"
        OTHER = "other", "Other"

    version = models.ForeignKey(ListVersion, on_delete=models.CASCADE, related_name="entries")
    entry_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=300)
    aliases = models.JSONField(default=list)
    dates_of_birth = models.JSONField(default=list)
    nationalities = models.JSONField(default=list)
    programs = models.JSONField(default=list)
    is_pep = models.BooleanField(default=False)
    remarks = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "entry_id"], name="watchlist_entry_once_per_version")]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.name}"
