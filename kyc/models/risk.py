from django.db import models

from crm.models import Client


class RiskAssessment(models.Model):
    """A client's risk score at one moment, with every factor that made it (the latest one counts).

    `reasons` is a list of {"factor", "points", "text"}; the level follows from the score and from
    factors that force high risk (a confirmed sanctions match, a PEP).
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="risk_assessments")
    score = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=10, choices=Client.RiskLevel.choices)
    reasons = models.JSONField()
    trigger = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"], name="kyc_risk_client_recent")]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.level} ({self.score})"
