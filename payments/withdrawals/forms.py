"""Forms of the withdrawal pages: they parse input; every rule lives in the services."""

from __future__ import annotations

import uuid

from django import forms

from brokerage.money import parse_amount, quantize
from payments.models import Deposit, PaymentMethod
from payments.selectors import client_wallets


class MethodSelect(forms.Select):
    """Each option carries its method's kind, so the page shows only that kind's destination fields."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-kind"] = instance.kind
        return option


def _amount(text: str):
    try:
        return parse_amount(text)
    except ValueError:
        raise forms.ValidationError("Enter an amount, like 250.00.") from None


class WithdrawalForm(forms.Form):
    # Made when the form is shown: submitting the same form twice creates one withdrawal.
    request_id = forms.UUIDField(widget=forms.HiddenInput)
    currency = forms.ChoiceField(label="From wallet")
    method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.filter(withdrawals_enabled=True),
        to_field_name="code",
        empty_label="Choose…",
        widget=MethodSelect,
    )
    amount = forms.CharField(
        max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    )
    holder = forms.CharField(label="Account holder", max_length=140, required=False)
    iban = forms.CharField(label="IBAN", max_length=60, required=False)
    bic = forms.CharField(label="BIC / SWIFT", max_length=20, required=False)
    address = forms.CharField(label="Wallet address", max_length=120, required=False)
    card = forms.ChoiceField(label="Card", required=False)

    def __init__(self, *args, client, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("request_id", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.wallets = client_wallets(client)
        self.fields["currency"].choices = [
            (wallet.currency, f"{wallet.currency} · {quantize(wallet.available, wallet.currency):,} available")
            for wallet in self.wallets
        ]
        cards = Deposit.objects.filter(
            client=client, method__kind=PaymentMethod.Kind.CARD, status=Deposit.Status.COMPLETED
        ).order_by("-completed_at", "-id")
        seen: set[tuple[str, str]] = set()
        choices = []
        for deposit in cards:
            key = (deposit.source_label, deposit.currency)
            if key not in seen:
                seen.add(key)
                choices.append((str(deposit.public_id), f"{deposit.source_label or 'Card'} ({deposit.currency})"))
        self.fields["card"].choices = choices

    def clean_amount(self):
        return _amount(self.cleaned_data["amount"])

    def destination(self) -> dict:
        return {key: self.cleaned_data.get(key, "") for key in ("holder", "iban", "bic", "address", "card")}


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="The client reads this reason."
    )


class ApproveForm(forms.Form):
    note = forms.CharField(max_length=500, required=False, label="Note (optional)")
