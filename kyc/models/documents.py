from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Client


class Document(models.Model):
    """A file a client uploaded for verification, with what the checks and staff made of it.

    The file is stored encrypted in the tenant's private folder (kyc.storage) and served only
    through kyc's document view, to its owner and to staff who may review it.
    """

    class Kind(models.TextChoices):
        PASSPORT = "passport", "Passport"
        ID_CARD = "id_card", "Identity card"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        SELFIE = "selfie", "Selfie"

    IDENTITY_KINDS = (Kind.PASSPORT, Kind.ID_CARD, Kind.DRIVING_LICENCE)

    class Side(models.TextChoices):
        SINGLE = "single", "Single page"
        FRONT = "front", "Front"
        BACK = "back", "Back"

    class Status(models.TextChoices):
        CHECKING = "checking", "Being checked"
        PASSED = "passed", "Passed the automatic checks"
        NEEDS_REVIEW = "needs_review", "Needs a review"
        FAILED = "failed", "Failed the automatic checks"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        REPLACED = "replaced", "Replaced by a newer upload"

    # Statuses that satisfy a requirement of a verification level.
    GOOD = (Status.PASSED, Status.ACCEPTED)

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="kyc_documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    side = models.CharField(max_length=10, choices=Side.choices, default=Side.SINGLE)
    file = models.CharField(max_length=200, help_text="Path of the encrypted file in the tenant's KYC storage")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # Text the client typed from the document (or an OCR step read): the MRZ lines, or the proof of
    # address's issue date and text.
    mrz_text = models.TextField(blank=True)
    document_number = models.CharField(max_length=40, blank=True)
    issuing_country = models.CharField(max_length=3, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CHECKING)
    # One sentence that says why the document has its status; the checks hold the evidence.
    status_reason = models.CharField(max_length=300, blank=True)
    # Shown to the client when staff rejected the document.
    rejection_reason = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Set when the client was asked for a new document before this one expires (once).
    expiry_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["client", "kind", "-uploaded_at"], name="kyc_document_client_kind"),
            models.Index(
                fields=["expires_on"],
                name="kyc_document_expiring",
                condition=Q(status__in=["passed", "accepted"]) & Q(expires_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_side_display()}) of {self.client_id}"


class DocumentCheck(models.Model):
    """The result of one automatic check of a document, with its evidence (what was compared)."""

    class Outcome(models.TextChoices):
        PASS = "pass", "Passed"
        WARN = "warn", "Needs a look"
        FAIL = "fail", "Failed"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=40)
    outcome = models.CharField(max_length=5, choices=Outcome.choices)
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.outcome}"
