from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Desk(models.Model):
    """A team of agents under one manager, who sees every client the desk's agents hold."""

    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="managed_desks"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="desks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.Model):
    """New clients matching the rule go round robin to its agents; the first matching rule wins."""

    class Team(models.TextChoices):
        SALES = "sales", "Sales"
        RETENTION = "retention", "Retention"

    name = models.CharField(max_length=100, unique=True)
    team = models.CharField(max_length=10, choices=Team.choices, default=Team.SALES)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True, help_text="Empty: any")
    languages = ArrayField(models.CharField(max_length=10), default=list, blank=True, help_text="Empty: any")
    sources = ArrayField(models.CharField(max_length=20), default=list, blank=True, help_text="Empty: any")
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first")
    is_active = models.BooleanField(default=True)
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, through="AssignmentRuleMember", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class AssignmentRuleMember(models.Model):
    """An agent in a rule's rotation; the one assigned longest ago is next."""

    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "user"], name="crm_rule_member_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.user_id}"
