from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Client


class Review(models.Model):
    """A client's KYC file waiting for a person, from the moment it was submitted (the SLA clock).

    At most one review per client is open. A high-risk approval takes two different compliance
    officers: the first approval moves it to `awaiting_second`, the second decides.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        AWAITING_SECOND = "awaiting_second", "Waiting for a second approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        DOCUMENTS_REQUESTED = "documents_requested", "Documents requested"

    OPEN_STATUSES = (Status.OPEN, Status.AWAITING_SECOND)

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="kyc_reviews")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # Why the machine could not decide: one line per reason.
    reasons = models.JSONField(default=list)
    opened_at = models.DateTimeField(auto_now_add=True)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Shown to the client on rejection or when documents are requested.
    client_message = models.TextField(blank=True)
    staff_note = models.TextField(blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status__in=["open", "awaiting_second"]),
                name="kyc_one_open_review_per_client",
            )
        ]
        indexes = [
            models.Index(
                fields=["opened_at"], name="kyc_review_queue", condition=Q(status__in=["open", "awaiting_second"])
            )
        ]

    def __str__(self) -> str:
        return f"Review of {self.client_id}: {self.status}"


class DocumentRequest(models.Model):
    """Staff (or expiry monitoring) asking a client for documents: what and why, until fulfilled."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="kyc_document_requests")
    review = models.ForeignKey(Review, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests")
    kinds = models.JSONField(help_text="Document kinds asked for")
    message = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client"], name="kyc_request_open", condition=Q(fulfilled_at__isnull=True))]

    def __str__(self) -> str:
        return f"Request to {self.client_id}: {', '.join(self.kinds)}"
