"""Kernel tables. They exist in the public schema (operators) and in every tenant schema."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models

from brokerage.roles import CAPABILITIES, STAFF_ROLES, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractUser):
    """A person who signs in on one schema: staff, client, partner or, in public, an operator."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def role_names(self) -> set[str]:
        if not hasattr(self, "_role_names"):
            self._role_names = set(self.groups.values_list("name", flat=True))
        return self._role_names

    @property
    def is_staff_member(self) -> bool:
        return bool(self.role_names & STAFF_ROLES)

    @property
    def is_client(self) -> bool:
        return Role.CLIENT in self.role_names

    @property
    def is_partner(self) -> bool:
        return Role.PARTNER in self.role_names


class Capability(models.Model):
    """Holds the capability permissions; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(CAPABILITIES.items())

    def __str__(self) -> str:
        return "capabilities"


class AuditRecord(models.Model):
    """One staff write. Append-only (a trigger refuses UPDATE/DELETE); hash-chained."""

    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action}"


class OutboxEvent(models.Model):
    """A domain event written in the transaction of the change that caused it."""

    topic = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_undelivered", condition=models.Q(delivered_at=None))
        ]

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk}"


class ProcessedEvent(models.Model):
    """Marks that one handler has handled one event, so a redelivery does nothing."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="processed_by")
    handler = models.CharField(max_length=200)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="processed_event_once")]

    def __str__(self) -> str:
        return f"{self.handler} handled event {self.event_id}"


class IdempotencyRecord(models.Model):
    """The first response to a money-moving POST, replayed for retries with the same key."""

    user_id = models.BigIntegerField()
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.path} [{self.key}]"


class FailedJob(models.Model):
    """A Celery task that ended in failure, written by brokerage.jobs from Celery's task_failure signal.

    Stored in the schema the task ran in (a tenant's, or public for platform tasks); `tenant_schema`
    says which, for logs and for failures read outside the tenant.
    """

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, blank=True)
    args_summary = models.CharField(max_length=500, blank=True)
    exception = models.TextField(blank=True)
    tenant_schema = models.CharField(max_length=63, blank=True)
    failed_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "brokerage.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-failed_at", "-id"]
        indexes = [
            models.Index(fields=["-failed_at"], name="failedjob_open", condition=models.Q(resolved_at=None)),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} failed at {self.failed_at:%Y-%m-%d %H:%M}"
