"""Imported bank statements and PSP settlement files, entry by entry, and how each was matched."""

from django.conf import settings
from django.db import models

from brokerage.money import CURRENCY_CHOICES
from payments.models.cashier import Deposit, Withdrawal
from payments.models.ledger import AMOUNT, LedgerTransaction
from payments.models.methods import PaymentMethod


class StatementImport(models.Model):
    class Format(models.TextChoices):
        CAMT052 = "camt052", "ISO 20022 camt.052"
        CAMT053 = "camt053", "ISO 20022 camt.053"
        CAMT054 = "camt054", "ISO 20022 camt.054"
        MT940 = "mt940", "SWIFT MT940"
        PSP_CSV = "psp_csv", "PSP settlement CSV"

    format = models.CharField(max_length=10, choices=Format.choices)
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, null=True, blank=True)
    filename = models.CharField(max_length=255)
    # The same file imported twice is refused.
    sha256 = models.CharField(max_length=64, unique=True)
    account = models.CharField(max_length=64, blank=True, help_text="IBAN or account number of the statement")
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES, blank=True)
    statement_date = models.DateField(null=True, blank=True)
    opening_balance = models.DecimalField(**AMOUNT, null=True, blank=True)
    closing_balance = models.DecimalField(**AMOUNT, null=True, blank=True)
    # None when the file carries no balances to check.
    balances_agree = models.BooleanField(null=True)
    # The check in words: "opening 100.00 + entries 50.00 = 150.00, closing 150.00".
    balance_detail = models.CharField(max_length=500, blank=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} {self.filename}"


class StatementEntry(models.Model):
    class Status(models.TextChoices):
        MATCHED = "matched", "Matched"
        AUTO_CONFIRMED = "auto_confirmed", "Confirmed a deposit"
        EXCEPTION = "exception", "Needs attention"
        RESOLVED = "resolved", "Resolved by staff"
        IGNORED = "ignored", "Ignored"

    statement = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="entries")
    line_no = models.PositiveIntegerField()
    booking_date = models.DateField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    # Signed: credits positive, debits negative. For PSP files: the gross amount.
    amount = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=0)
    currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    reference = models.CharField(max_length=200, blank=True, help_text="Bank or PSP reference of the entry")
    remittance = models.CharField(max_length=500, blank=True, help_text="What the payer wrote")
    counterparty = models.CharField(max_length=200, blank=True)
    counterparty_account = models.CharField(max_length=64, blank=True, help_text="IBAN or account number")
    # PSP row type (payment, refund, payout, fee, chargeback) or the bank's transaction code.
    entry_type = models.CharField(max_length=40, blank=True)
    # A completed item of ours that a PSP file for its date should have listed and did not.
    missing_in_file = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, null=True, blank=True)
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, null=True, blank=True)
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["statement", "line_no"]
        constraints = [models.UniqueConstraint(fields=["statement", "line_no"], name="statement_entry_line_unique")]
        indexes = [models.Index(fields=["status", "booking_date"], name="statement_entry_queue")]

    def __str__(self) -> str:
        return f"{self.statement} line {self.line_no}"
