from django import forms
from django.utils import timezone

from brokerage.money import quantize
from payments.models import Deposit, PaymentMethod, StatementImport
from payments.reconciliation.parsers import MAX_BYTES
from payments.reconciliation.sandbox import SANDBOX_PROVIDER

Format = StatementImport.Format
UPLOAD_FORMATS = [
    (Format.CAMT053, "ISO 20022 camt.053 / camt.052 (bank statement)"),
    (Format.CAMT054, "ISO 20022 camt.054 (debit/credit notification)"),
    (Format.MT940, "SWIFT MT940 (bank statement)"),
    (Format.PSP_CSV, "PSP settlement CSV"),
]


def reconciled_methods():
    return PaymentMethod.objects.filter(kind__in=[PaymentMethod.Kind.BANK_WIRE, PaymentMethod.Kind.CARD])


class StatementUploadForm(forms.Form):
    format = forms.ChoiceField(choices=UPLOAD_FORMATS)
    method = forms.ModelChoiceField(
        queryset=reconciled_methods(),
        required=False,
        empty_label="Work it out from the file",
        help_text="Which PSP or bank account the file is from. Bank statements find it by their IBAN.",
    )
    file = forms.FileField(help_text=f"XML, MT940 or CSV; at most {MAX_BYTES // 1048576} MB.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = reconciled_methods()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1048576} MB.")
        return upload


class EntryResolveForm(forms.Form):
    ACTIONS = [("link", "Confirm a deposit with this money"), ("resolve", "Mark resolved"), ("ignore", "Ignore")]

    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect)
    deposit = forms.ModelChoiceField(
        queryset=Deposit.objects.none(),
        required=False,
        empty_label="Choose a deposit",
        help_text="Deposits in the entry's currency not completed yet, newest first.",
    )
    note = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="What was done and why."
    )

    def __init__(self, *args, entry, **kwargs):
        super().__init__(*args, **kwargs)
        # Late money for an expired or failed deposit is still the client's: those can be confirmed too.
        waiting = Deposit.objects.exclude(status=Deposit.Status.COMPLETED).filter(currency=entry.currency)
        newest = waiting.order_by("-created_at").values("pk")[:200]
        self.fields["deposit"].queryset = (
            waiting.filter(pk__in=newest).select_related("client", "method").order_by("-created_at")
        )
        self.fields["deposit"].label_from_instance = _deposit_label
        if entry.amount <= 0:
            self.fields["action"].choices = self.ACTIONS[1:]

    def clean(self):
        data = super().clean()
        if data.get("action") == "link" and not data.get("deposit"):
            self.add_error("deposit", "Choose the deposit this money is for.")
        if data.get("action") in ("resolve", "ignore") and not (data.get("note") or "").strip():
            self.add_error("note", "Say what was done or why it is ignored.")
        return data


def _deposit_label(deposit: Deposit) -> str:
    reference = deposit.wire_reference or deposit.psp_reference or str(deposit.public_id)[:8]
    amount = quantize(deposit.amount, deposit.currency)
    return f"{reference} · {deposit.client} · {amount:f} {deposit.currency} · {deposit.method}"


class ReportForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ModelChoiceField(queryset=PaymentMethod.objects.all(), required=False, empty_label="Every method")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = PaymentMethod.objects.all()
        self.fields["date"].initial = timezone.localdate()


class SandboxSettlementForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ModelChoiceField(queryset=PaymentMethod.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = PaymentMethod.objects.filter(provider=SANDBOX_PROVIDER)
        self.fields["date"].initial = timezone.localdate()
