"""State of the built-in simulated providers: what the PSP or the chain itself would remember.

Kept apart from our own records (Deposit, Withdrawal): the simulators only know
our merchant reference, as a real provider would, and speak to us by signed webhooks.
"""

from django.db import models

from brokerage.money import CURRENCY_CHOICES
from payments.models.ledger import AMOUNT
from payments.models.methods import PaymentMethod


class SandboxCheckout(models.Model):
    """A hosted card checkout of the sandbox card PSP, reached by its opaque token."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    token = models.CharField(max_length=64, unique=True)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    # Our deposit's public id, echoed back in the webhook (Stripe's client_reference_id).
    merchant_reference = models.CharField(max_length=64)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    return_url = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Checkout {self.token} ({self.status})"


class SimulatedChainTransaction(models.Model):
    """A transfer on the simulated chain to a deposit address, gaining one confirmation per beat tick."""

    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    network = models.CharField(max_length=20)
    txid = models.CharField(max_length=80, unique=True)
    address = models.CharField(max_length=120, db_index=True)
    merchant_reference = models.CharField(max_length=64)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    confirmations = models.PositiveIntegerField(default=0)
    required_confirmations = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.network} {self.txid} ({self.confirmations}/{self.required_confirmations})"


class SandboxPayout(models.Model):
    """A payout a simulated provider accepted; unique by our payout reference, so it is paid once."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    payout_reference = models.CharField(max_length=80, unique=True)
    psp_reference = models.CharField(max_length=120, unique=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices)
    failure_message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Payout {self.payout_reference} ({self.status})"
