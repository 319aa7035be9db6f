"""Deposits, withdrawals, their timelines and the PSP webhooks that move them: the cashier."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokerage.money import CURRENCY_CHOICES
from payments.models.ledger import AMOUNT, Hold, LedgerTransaction
from payments.models.methods import PaymentMethod


class Deposit(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", "Created"
        PENDING = "pending", "Waiting for payment"
        CONFIRMING = "confirming", "Confirming"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey("crm.Client", on_delete=models.PROTECT, related_name="deposits")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="deposits")
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    # What arrived (what the client asked to deposit until then); the fee is taken from it.
    amount = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=0)
    # What the client said they would send, when a wire or a chain brought a different amount.
    requested_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    # One-time token of the portal's start form: a double-submitted form creates one deposit.
    request_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED, db_index=True)
    # The provider's id of the payment (checkout session, transfer, chain transaction).
    psp_reference = models.CharField(max_length=120, null=True, blank=True)
    # What the client writes on a bank wire so reconciliation can find the deposit.
    wire_reference = models.CharField(max_length=40, null=True, blank=True, unique=True)
    crypto_address = models.CharField(max_length=120, null=True, blank=True, unique=True)
    confirmations = models.PositiveIntegerField(default=0)
    required_confirmations = models.PositiveIntegerField(default=0)
    checkout_url = models.CharField(max_length=500, blank=True)
    # For return-to-source: what the client paid with (masked card, IBAN, address).
    source_label = models.CharField(max_length=120, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="deposit"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["method", "psp_reference"], name="deposit_psp_reference_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0, fee__gte=0), name="deposit_amounts"),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def net(self):
        """What the client's wallet receives."""
        return self.amount - self.fee

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Withdrawal(models.Model):
    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", "Waiting for approval"
        PENDING_SECOND_APPROVAL = "pending_second_approval", "Waiting for second approval"
        APPROVED = "approved", "Approved"
        PROCESSING = "processing", "Sent for payment"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.PAID, Status.REJECTED, Status.FAILED, Status.CANCELLED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey("crm.Client", on_delete=models.PROTECT, related_name="withdrawals")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="withdrawals")
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    amount = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=0)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.PENDING_REVIEW, db_index=True)
    # Where the money goes: {"iban", "bic", "holder"} | {"address", "network"} | {"deposit": public_id, "card"}.
    destination = models.JSONField(default=dict)
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="withdrawal")
    needs_four_eyes = models.BooleanField(default=False)
    auto_approved = models.BooleanField(default=False)
    # Why it waits for a person (hook flags, a missing rate, ...): for staff, never shown to the client.
    review_reasons = models.JSONField(default=list, blank=True)
    # Our payout id towards the PSP: the same payout is never sent twice.
    payout_reference = models.CharField(max_length=80, unique=True)
    # Who asked for it: the client, or a staff member on the client's behalf (the "maker").
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    psp_reference = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was rejected or failed")
    transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="withdrawal"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0, fee__gte=0), name="withdrawal_amounts")]

    def __str__(self) -> str:
        return f"Withdrawal {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def payout_amount(self):
        """What reaches the client: the amount less the fee."""
        return self.amount - self.fee


class WithdrawalApproval(models.Model):
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="approvals")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    approved = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["withdrawal", "staff"], name="withdrawal_approval_once_per_staff")
        ]

    def __str__(self) -> str:
        return f"{'Approved' if self.approved else 'Rejected'} by {self.staff}"


class PaymentEvent(models.Model):
    """One step in the life of a deposit or withdrawal, for the timeline staff and clients read."""

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    status = models.CharField(max_length=30)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    # Who acted when it was not a person: "client", "system", "psp:sandbox_card", ...
    actor_label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit__isnull=False, withdrawal__isnull=True)
                | Q(deposit__isnull=True, withdrawal__isnull=False),
                name="payment_event_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.created_at:%Y-%m-%d %H:%M}"


class WebhookDelivery(models.Model):
    """Every webhook a provider sent, kept for audit whether it was accepted or not."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"
        IGNORED = "ignored", "Ignored"

    provider = models.CharField(max_length=40)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, null=True, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=80, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    signature_valid = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    detail = models.CharField(max_length=500, blank=True)
    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, null=True, blank=True)
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=Q(outcome="processed"),
                name="webhook_event_processed_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id or '(no id)'}: {self.outcome}"
