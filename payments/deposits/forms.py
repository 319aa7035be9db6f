"""Forms of the deposit pages: the client's start form, the simulator's send form, finance's actions."""

from __future__ import annotations

import uuid

from django import forms
from django.db import connection

from brokerage.money import CURRENCY_CHOICES, quantize
from payments.models import Deposit, MethodCurrency, PaymentMethod


def deposit_methods():
    return PaymentMethod.objects.filter(deposits_enabled=True, currencies__isnull=False).distinct()


class MethodChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, method: PaymentMethod) -> str:
        return method.name


class DepositStartForm(forms.Form):
    """Method, currency, amount; `token` is a one-time key so a double submit makes one deposit."""

    method = MethodChoiceField(queryset=PaymentMethod.objects.none(), widget=forms.RadioSelect, empty_label=None)
    currency = forms.ChoiceField(choices=())
    amount = forms.DecimalField(
        max_digits=30,
        decimal_places=8,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}),
        error_messages={"invalid": "Enter an amount such as 250.00.", "max_decimal_places": "Too many decimals."},
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        methods = list(deposit_methods())
        self.fields["method"].queryset = deposit_methods()
        chosen = self._chosen_method(methods)
        offers = MethodCurrency.objects.filter(method=chosen) if chosen else MethodCurrency.objects.none()
        # The broker's own currency first, where the method takes it.
        base = getattr(connection.tenant, "base_currency", "")
        currencies = sorted((offer.currency for offer in offers), key=lambda code: (code != base, code))
        # Any known currency validates here; the service says if this method does not take it.
        self.fields["currency"].choices = [(c, c) for c in currencies] + [
            (c, c) for c, _ in CURRENCY_CHOICES if c not in currencies
        ]
        self.currency_options = currencies
        self.chosen_method = chosen
        if not self.is_bound:
            self.initial.setdefault("method", chosen.pk if chosen else None)
            self.initial.setdefault("currency", currencies[0] if currencies else "")
            self.initial.setdefault("token", uuid.uuid4().hex)

    def _chosen_method(self, methods: list[PaymentMethod]) -> PaymentMethod | None:
        wanted = (self.data.get("method") if self.is_bound else self.initial.get("method")) or ""
        for method in methods:
            if str(method.pk) == str(wanted):
                return method
        return methods[0] if methods else None


class SimulateSendForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount sent",
        max_digits=30,
        decimal_places=8,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": "Enter an amount such as 0.01."},
    )


class ManualConfirmForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount received", max_digits=30, decimal_places=8, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    note = forms.CharField(
        label="Note", max_length=300, help_text="Where you saw the money (statement, date, bank reference)."
    )

    def __init__(self, *args, deposit: Deposit, **kwargs):
        kwargs.setdefault("initial", {"amount": quantize(deposit.amount, deposit.currency)})
        super().__init__(*args, **kwargs)


class ManualFailForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300, help_text="The client sees this reason.")


class OpsFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Client")
    status = forms.ChoiceField(required=False, choices=[("", "Any")] + list(Deposit.Status.choices))
    method = forms.ChoiceField(required=False, choices=())
    currency = forms.ChoiceField(required=False, choices=[("", "Any")] + CURRENCY_CHOICES)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "Any")] + list(PaymentMethod.objects.values_list("code", "name"))
