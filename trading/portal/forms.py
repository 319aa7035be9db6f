"""Forms of the client's trading pages: they parse what was typed; the services decide."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal

from django import forms

from payments.models import TradingTransfer
from trading.forms import DayField
from trading.models import TradingPolicy

ANY = [("", "All")]


def _token_field() -> forms.CharField:
    # A fresh one-time key per form shown: the view lets each key through once (see views.once).
    return forms.CharField(widget=forms.HiddenInput, max_length=64)


class AccountOpenForm(forms.Form):
    kind = forms.ChoiceField(
        label="Account type",
        widget=forms.RadioSelect,
        choices=[
            ("demo", "Demo: practise with play money, no risk"),
            ("live", "Live: trade with the funds in your wallet"),
        ],
    )
    leverage = forms.TypedChoiceField(coerce=int, choices=())
    currency = forms.ChoiceField(label="Account currency", choices=())
    token = _token_field()

    def __init__(self, *args, policy: TradingPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leverage"].choices = [(str(n), f"1:{n}") for n in sorted(policy.leverage_choices)]
        self.fields["currency"].choices = [(c, c) for c in policy.account_currencies]
        if not self.is_bound:
            self.initial.setdefault("kind", "demo")
            self.initial.setdefault("leverage", str(policy.default_leverage))
            self.initial.setdefault("token", uuid.uuid4().hex)
        self.fields["leverage"].error_messages["invalid_choice"] = "Choose one of the leverages offered."
        self.fields["currency"].error_messages["invalid_choice"] = "Choose one of the currencies offered."


# What an amount may look like: digits with an optional decimal point, thousands grouped by commas
# or not ("1,250.50", "1250.5", ".5"). No exponent ("1e3" is not one thousand to a reader), no sign.
AMOUNT_TYPED = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+")


class AmountField(forms.DecimalField):
    """A money amount as people type it; anything else is "invalid" rather than read some other way."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        typed = str(value).strip()
        if not AMOUNT_TYPED.fullmatch(typed):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(typed.replace(",", ""))


class TransferForm(forms.Form):
    direction = forms.ChoiceField(choices=TradingTransfer.Direction.choices, widget=forms.HiddenInput)
    amount = AmountField(
        max_digits=20,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}),
        error_messages={
            "invalid": "Enter an amount such as 250.00.",
            "min_value": "The amount must be more than zero.",
            "max_decimal_places": "Too many decimals.",
        },
    )
    token = _token_field()

    def __init__(self, *args, direction: str, **kwargs):
        super().__init__(*args, **kwargs)
        # Both forms of the page share field names: a prefix keeps their ids and errors apart.
        self.prefix = direction
        if not self.is_bound:
            self.initial.update(direction=direction, token=uuid.uuid4().hex)


class HistoryFilterForm(forms.Form):
    TRADES, BALANCE = "trades", "balance"

    account = forms.ChoiceField(required=False, choices=ANY)
    kind = forms.ChoiceField(
        required=False, label="Live or demo", choices=[("", "All"), ("live", "Live"), ("demo", "Demo")]
    )
    symbol = forms.ChoiceField(required=False, choices=ANY)
    type = forms.ChoiceField(required=False, choices=[("", "All"), (TRADES, "Trades"), (BALANCE, "Balance and credit")])
    since = DayField(label="From")
    until = DayField(label="To")

    def __init__(self, *args, logins: list[str], symbols: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = ANY + [(login, login) for login in logins]
        self.fields["symbol"].choices = ANY + [(name, name) for name in symbols]

    def clean(self):
        data = super().clean()
        since: date | None = data.get("since")
        until: date | None = data.get("until")
        if since and until and since > until:
            self.add_error("until", "Must be on or after the start date.")
        return data
