from django.conf import settings
from django.db import models

from crm.models import Client


class Questionnaire(models.Model):
    """One published version of the appropriateness test for a jurisdiction ("" = every other).

    `questions` is a list of {"code", "text", "choices": [{"code", "text", "points"}]}. A published
    version is never edited: a change is a new version, so every answer keeps the text it answered.
    """

    jurisdiction = models.CharField(max_length=2, blank=True)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    questions = models.JSONField()
    pass_score = models.PositiveIntegerField()
    warning_text = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["jurisdiction", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "version"], name="kyc_questionnaire_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.jurisdiction or 'default'})"

    @property
    def max_score(self) -> int:
        return sum(max((c["points"] for c in q["choices"]), default=0) for q in self.questions)


class QuestionnaireAnswer(models.Model):
    """A client's answers to one questionnaire version, scored when submitted."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="questionnaire_answers")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="answers")
    answers = models.JSONField()
    score = models.PositiveIntegerField()
    passed = models.BooleanField()
    # A client who fails sees the warning and may go on only after acknowledging it.
    warning_acknowledged_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["client", "-submitted_at"], name="kyc_answer_client_recent")]

    def __str__(self) -> str:
        return f"Answers of {self.client_id} to {self.questionnaire_id}: {self.score}"
