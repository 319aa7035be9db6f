from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower

# Languages the broker can speak to a client in (templates, portal preference).
LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("pl", "Polish"),
    ("ru", "Russian"),
    ("tr", "Turkish"),
    ("ar", "Arabic"),
    ("zh", "Chinese"),
    ("ja", "Japanese"),
]


class Client(models.Model):
    """A person or company the broker deals with, from first lead to closed account."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        COMPANY = "company", "Company"

    class Status(models.TextChoices):
        LEAD = "lead", "Lead"
        REGISTERED = "registered", "Registered"
        VERIFIED = "verified", "Verified"
        FUNDED = "funded", "Funded"
        ACTIVE = "active", "Active"
        DORMANT = "dormant", "Dormant"
        CLOSED = "closed", "Closed"

    class LeadStage(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        NEGOTIATION = "negotiation", "Negotiation"
        CONVERTED = "converted", "Converted"
        LOST = "lost", "Lost"

    class Source(models.TextChoices):
        ORGANIC = "organic", "Organic sign-up"
        CAMPAIGN = "campaign", "Campaign"
        REFERRAL = "referral", "Client referral"
        IB = "ib", "IB link"
        IMPORT = "import", "Lead import"
        MANUAL = "manual", "Entered by staff"

    class KycStatus(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        PENDING = "pending", "Under review"
        DOCUMENTS_REQUESTED = "documents_requested", "Documents requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class RiskLevel(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="client"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    native_name = models.CharField(max_length=200, blank=True, help_text="The name in its own script")
    company_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nationality = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    country = models.CharField(max_length=2, blank=True, db_index=True, help_text="Country of residence")
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    # E.164 ("+447700900123"); set only through crm.phones.phone_normalize.
    phone = models.CharField(max_length=20, blank=True, db_index=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    # Blank only for leads known by phone; unique (case-insensitive) when present.
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=10, default="en", choices=LANGUAGES)
    timezone = models.CharField(max_length=64, default="UTC")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ORGANIC, db_index=True)
    source_detail = models.CharField(max_length=100, blank=True, help_text="Campaign name, referral or IB code")
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REGISTERED, db_index=True)
    lead_stage = models.CharField(max_length=20, choices=LeadStage.choices, default=LeadStage.NEW)
    sales_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales_clients"
    )
    retention_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="retention_clients"
    )
    # Read by withdrawal checks; the KYC issue takes ownership of how they are set.
    kyc_status = models.CharField(max_length=20, choices=KycStatus.choices, default=KycStatus.NOT_STARTED)
    kyc_status_changed_at = models.DateTimeField(null=True, blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, default=RiskLevel.MEDIUM)

    # Activity, kept up to date from other modules' events (crm.activity) so lists and segments
    # filter on plain columns instead of joining the ledger and millions of deals.
    first_deposit_at = models.DateTimeField(null=True, blank=True)
    first_deposit_amount = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    first_deposit_currency = models.CharField(max_length=3, blank=True)
    last_deposit_at = models.DateTimeField(null=True, blank=True)
    last_trade_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # Lower-cased names, email and phone digits: one trigram-indexed column for the search box.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "first_name",
                Value(" "),
                "last_name",
                Value(" "),
                "native_name",
                Value(" "),
                "company_name",
                Value(" "),
                "email",
                Value(" "),
                "phone",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="crm_client_email_unique"),
        ]
        indexes = [
            models.Index(fields=["sales_agent", "-created_at"], name="crm_client_sales_agent"),
            models.Index(fields=["retention_agent", "-created_at"], name="crm_client_retention_agent"),
            models.Index(fields=["status", "-created_at"], name="crm_client_status_created"),
            models.Index(fields=["first_deposit_at"], name="crm_client_ftd"),
            models.Index(fields=["last_name", "first_name", "id"], name="crm_client_name"),
            # The review queue and the dashboard count clients waiting for KYC, a small share of all.
            models.Index(
                fields=["kyc_status_changed_at"],
                condition=Q(kyc_status="pending"),
                name="crm_client_kyc_pending",
            ),
            GinIndex(fields=["search_text"], opclasses=["gin_trgm_ops"], name="crm_client_search_trgm"),
            GinIndex(fields=["tags"], name="crm_client_tags"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return self.company_name or name or self.email or self.phone or f"Client {self.pk}"

    @classmethod
    def lead_stage_q(cls, stages) -> Q:
        """Clients in one of these pipeline stages. Every client carries a stage, but only a lead is
        still in the pipeline; a converted one stays "converted" whatever its status became."""
        stages = list(stages)
        converted = cls.LeadStage.CONVERTED in stages
        open_stages = [stage for stage in stages if stage != cls.LeadStage.CONVERTED]
        query = Q(lead_stage__in=open_stages, status=cls.Status.LEAD)
        return query | Q(lead_stage=cls.LeadStage.CONVERTED) if converted else query
