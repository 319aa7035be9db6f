from django.conf import settings
from django.db import models


class Segment(models.Model):
    """A saved client filter: a list of criteria (crm.segments) that all must hold."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    # [{"key": "deposited_within", "params": {"days": 7}}, ...]; validated by crm.segments.
    criteria = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
