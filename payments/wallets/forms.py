"""Forms of the wallet, ledger, rates and configuration pages: they parse; services decide."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.money import CURRENCY_CHOICES, MINOR_UNITS
from payments.models import LedgerAccount, LedgerTransaction, PaymentMethod, PaymentPolicy
from payments.rate_providers import ECB_90_DAYS_URL, ECB_DAILY_URL, ECB_MAX_BYTES
from payments.wallets.services import CurrencyLimits, currency_limits_problems

ANY = [("", "Any")]


def show_refusal(error: ApplicationError, form: forms.Form) -> None:
    """A service's refusal on a form: its message on top, its field messages beside the fields."""
    error.add_to_form(form)
    if error.fields:
        form.add_error(None, error.message)


def _amount(**kwargs) -> forms.DecimalField:
    return forms.DecimalField(max_digits=30, decimal_places=8, **kwargs)


class DateRangeMixin(forms.Form):
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Must be on or after the start date.")
        return data


class StatementFilterForm(DateRangeMixin):
    currency = forms.ChoiceField(required=False, choices=ANY)
    kind = forms.ChoiceField(required=False, label="Type", choices=ANY + list(LedgerTransaction.Kind.choices))

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = ANY + [(c, c) for c in currencies]
        self.order_fields(["currency", "kind", "since", "until"])


class ConvertForm(forms.Form):
    from_currency = forms.ChoiceField(label="From wallet")
    amount = _amount(min_value=Decimal("0.00000001"))
    to_currency = forms.ChoiceField(label="To")
    # One key per form shown: a double-clicked or repeated submit converts once.
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # What the client saw on the quote: the conversion is refused if the rate has moved against them.
    quoted_to_amount = _amount(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, from_currencies: list[str], to_currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_currency"].choices = [(c, c) for c in from_currencies]
        self.fields["to_currency"].choices = [(c, c) for c in to_currencies]
        self.fields["request_key"].initial = uuid.uuid4().hex
        # Start on a pair that is a conversion: the first wallet to the first other currency.
        if from_currencies:
            self.fields["to_currency"].initial = next((c for c in to_currencies if c != from_currencies[0]), None)

    def clean(self):
        data = super().clean()
        if data.get("from_currency") and data.get("from_currency") == data.get("to_currency"):
            self.add_error("to_currency", "Choose a different currency to convert to.")
        return data


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    kind = forms.ChoiceField(required=False, choices=ANY + list(LedgerAccount.Kind.choices))
    currency = forms.ChoiceField(required=False, choices=ANY + CURRENCY_CHOICES)


class BalanceAtForm(forms.Form):
    at = forms.DateTimeField(
        label="Balance at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError("Choose a moment in the past.")
        return at


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=250, widget=forms.Textarea(attrs={"rows": 3}))


class AdjustForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("credit", "Credit the wallet (from suspense)"), ("debit", "Debit the wallet (to suspense)")]
    )
    amount = _amount(min_value=Decimal("0.00000001"))
    reason = forms.CharField(max_length=250)
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request_key"].initial = uuid.uuid4().hex

    def signed_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        return amount if self.cleaned_data["direction"] == "credit" else -amount


class EcbUploadForm(forms.Form):
    """An ECB file uploaded, or fetched from the ECB (only from there: the server fetches no other address)."""

    FEEDS = {"daily": ECB_DAILY_URL, "90d": ECB_90_DAYS_URL}

    file = forms.FileField(label="ECB rates file (XML)", required=False)
    fetch = forms.ChoiceField(
        label="…or fetch from the ECB",
        required=False,
        choices=[("", "—"), ("daily", "Today's reference rates"), ("90d", "The last 90 days")],
    )

    def clean(self):
        data = super().clean()
        upload, fetch = data.get("file"), data.get("fetch")
        if bool(upload) == bool(fetch):
            raise forms.ValidationError("Upload a file or choose what to fetch from the ECB (one of the two).")
        if upload and upload.size > ECB_MAX_BYTES:
            self.add_error("file", f"At most {ECB_MAX_BYTES // (1024 * 1024)} MB.")
        return data

    def url(self) -> str:
        return self.FEEDS[self.cleaned_data["fetch"]] if self.cleaned_data.get("fetch") else ""


class ManualRateForm(forms.Form):
    base = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="EUR")
    quote = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    rate = forms.DecimalField(max_digits=24, decimal_places=10, min_value=Decimal("0.0000000001"))


class MethodForm(forms.ModelForm):
    class Meta:
        model = PaymentMethod
        fields = ["deposits_enabled", "withdrawals_enabled", "fee_percent"]
        labels = {"fee_percent": "Fee (%)"}


class MethodCurrencyForm(forms.Form):
    currency = forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in sorted(MINOR_UNITS)])
    fee_fixed = _amount(label="Fixed fee", min_value=0)
    min_amount = _amount(label="Minimum", min_value=Decimal("0.00000001"))
    max_amount = _amount(label="Maximum", min_value=Decimal("0.00000001"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # the table's header is the only visible label
            field.widget.attrs["aria-label"] = field.label

    def clean(self):
        data = super().clean()
        names = ("currency", "fee_fixed", "min_amount", "max_amount")
        if all(data.get(name) not in (None, "") for name in names):
            for field, messages in currency_limits_problems(CurrencyLimits(**{n: data[n] for n in names})).items():
                for message in messages:
                    self.add_error(field, message)
        return data


class BaseCurrencyFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form) or not form.cleaned_data:
                continue
            currency = form.cleaned_data["currency"]
            if currency in seen:
                form.add_error("currency", "Listed twice.")
            seen.add(currency)


MethodCurrencyFormSet = forms.formset_factory(
    MethodCurrencyForm, formset=BaseCurrencyFormSet, extra=1, can_delete=True, max_num=40
)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = PaymentPolicy
        fields = [
            "auto_approve_limit",
            "four_eyes_threshold",
            "daily_withdrawal_limit",
            "fx_markup_percent",
            "rate_feed",
        ]
        labels = {
            "auto_approve_limit": "Auto-approve withdrawals up to",
            "four_eyes_threshold": "Second approval above",
            "daily_withdrawal_limit": "Daily withdrawal limit per client",
            "fx_markup_percent": "FX markup (%)",
        }
        help_texts = {
            "auto_approve_limit": "Low-risk clients only; 0 turns auto-approval off.",
            "daily_withdrawal_limit": "0 means no limit.",
            "fx_markup_percent": "Taken from the mid rate on conversions between wallets.",
        }
