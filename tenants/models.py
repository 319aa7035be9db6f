"""Sub-brokers (tenants) and their domains: the only business tables in the public schema."""

from django.core.validators import RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from brokerage.money import CURRENCY_CHOICES

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


def logo_path(tenant: "Tenant", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"branding/{tenant.slug}/logo.{extension}"


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    # status -> statuses it may move to; changed only by tenants.services.
    TRANSITIONS = {Status.ACTIVE: {Status.SUSPENDED}, Status.SUSPENDED: {Status.ACTIVE}}

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True, validators=[RegexValidator(SLUG_PATTERN)])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    base_currency = models.CharField(max_length=4, choices=CURRENCY_CHOICES, default="USD")
    jurisdiction = models.CharField(max_length=100, blank=True, help_text="Licensing regulator, e.g. CySEC")
    display_name = models.CharField(max_length=100, blank=True)
    logo = models.FileField(upload_to=logo_path, blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f6feb", validators=[RegexValidator(COLOUR_PATTERN)])
    support_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    suspended_reason = models.CharField(max_length=200, blank=True)

    auto_create_schema = True
    # A stray delete() must not drop a broker's data; provisioning's clean-up passes force_drop.
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def primary_domain(self) -> str:
        domain = self.domains.filter(is_primary=True).first()
        return domain.domain if domain else ""


class Domain(DomainMixin):
    def __str__(self) -> str:
        return self.domain
