"""Forms of /ops/trading/: search filters and the edit forms behind the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from brokerage.dates import day_start
from brokerage.money import FIAT_CURRENCIES
from trading.forms import DayField
from trading.models import Deal, Platform, Position, Symbol, TradingAccount, TradingPolicy
from trading.ops.services import ALIAS_RULE, MAX_LEVERAGE, REASON_MAX, SYMBOL_FIELDS


def _any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class PlatformChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Platform.objects.order_by("name"), required=False, empty_label="All platforms", **kwargs
        )


KIND_CHOICES = [("live", "Live"), ("demo", "Demo")]


# Filters -------------------------------------------------------------------------------------------


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Login, client name or email", max_length=100)
    platform = PlatformChoiceField(label="Platform")
    kind = forms.ChoiceField(
        required=False, label="Live / demo", choices=_any("Live and demo", [("live", "Live"), ("demo", "Demo")])
    )
    status = forms.ChoiceField(
        required=False, label="Status", choices=_any("Any status", TradingAccount.Status.choices)
    )

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        kind = data.get("kind", "")
        return {
            "search": data.get("q", ""),
            "platform": data.get("platform"),
            "is_demo": {"live": False, "demo": True}.get(kind),
            "status": data.get("status", ""),
        }


class DealFilterForm(forms.Form):
    login = forms.CharField(required=False, max_length=40, label="Login")
    ticket = forms.IntegerField(required=False, min_value=0, label="Ticket")
    symbol = forms.CharField(required=False, max_length=40, label="Symbol")
    action = forms.ChoiceField(required=False, label="Type", choices=_any("Any type", Deal.Action.choices))
    booking = forms.ChoiceField(required=False, label="Booking", choices=_any("Any booking", Deal.Booking.choices))
    date_from = DayField(label="From")
    date_to = DayField(label="To", help_text="Inclusive.")
    platform = PlatformChoiceField(label="Platform")
    kind = forms.ChoiceField(
        required=False, label="Live / demo", choices=_any("Live and demo", [("live", "Live"), ("demo", "Demo")])
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "login": data.get("login", ""),
            "ticket": data.get("ticket"),
            "symbol": data.get("symbol", ""),
            "action": data.get("action", ""),
            "booking": data.get("booking", ""),
            "platform": data.get("platform"),
            "is_demo": {"live": False, "demo": True}.get(data.get("kind", "")),
            "time_from": day_start(data["date_from"]) if data.get("date_from") else None,
            "time_to": day_start(data["date_to"] + timedelta(days=1)) if data.get("date_to") else None,
        }


class PositionFilterForm(forms.Form):
    login = forms.CharField(required=False, max_length=40, label="Login")
    symbol = forms.CharField(required=False, max_length=40, label="Symbol")
    side = forms.ChoiceField(required=False, label="Side", choices=_any("Buy and sell", Position.Side.choices))
    platform = PlatformChoiceField(label="Platform")
    kind = forms.ChoiceField(
        required=False, label="Live / demo", choices=[*KIND_CHOICES, ("all", "Live and demo")], initial="live"
    )

    def filters(self) -> dict:
        """Live accounts unless the filter says otherwise: floating P&L of play money is not money."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        values = {
            key: data.get(key) or ("" if key != "platform" else None) for key in ("login", "symbol", "side", "platform")
        }
        values["is_demo"] = {"": False, "live": False, "demo": True, "all": None}[data.get("kind", "")]
        return values


PERIODS = {"7": 7, "30": 30, "90": 90}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        required=False,
        label="Period",
        choices=[("", "All time"), ("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")],
    )

    def since(self) -> datetime | None:
        period = self.cleaned_data.get("period") if self.is_bound and self.is_valid() else ""
        return timezone.now() - timedelta(days=PERIODS[period]) if period else None


# Account actions -----------------------------------------------------------------------------------


class LeverageForm(forms.Form):
    """A leverage the broker offers (the policy's choices), and the confirmation a risky lowering needs."""

    leverage = forms.TypedChoiceField(coerce=int, label="New leverage (1:…)")
    confirm = forms.BooleanField(
        required=False, label="I have seen the projected margin level and still want this leverage"
    )

    def __init__(self, *args, policy: TradingPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        choices = sorted(policy.leverage_choices)
        field = self.fields["leverage"]
        field.choices = [(value, f"1:{value}") for value in choices]
        field.error_messages["invalid_choice"] = (
            f"Not offered by this broker; choose one of {', '.join(f'1:{value}' for value in choices)}."
        )


class DisableForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX, label="Reason for disabling", help_text="Kept in the audit trail.")


class GroupForm(forms.Form):
    group = forms.CharField(max_length=100, label="New group")


# Platforms -----------------------------------------------------------------------------------------


class PlatformForm(forms.ModelForm):
    manager_password = forms.CharField(
        required=False,
        label="Manager password",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the stored password.",
    )

    class Meta:
        model = Platform
        fields = ["name", "code", "environment", "server", "manager_login", "default_group", "login_range_start"]
        labels = {
            "code": "Code",
            "server": "Web API address",
            "manager_login": "Manager login",
            "default_group": "Group for new accounts",
            "login_range_start": "First login of the range",
        }
        help_texts = {
            "code": "Short name in the push URL /trading/push/<code>/; cannot be changed later.",
            "server": "e.g. https://mt5.example.com:443",
            "login_range_start": "Logins we open here start at this number; keep ranges of platforms apart.",
        }
        widgets = {"server": forms.URLInput(attrs={"placeholder": "https://"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "Names the push URL; fixed."
        if editing and self.instance.kind == Platform.Kind.SIMULATOR:
            for name in ("server", "manager_login", "manager_password"):
                del self.fields[name]

    def _post_clean(self):
        # The service validates and saves; the model's unique check runs there too, with a clear message.
        pass

    def values(self) -> dict:
        data = self.cleaned_data
        instance = self.instance
        return {
            "code": data.get("code") or instance.code,
            "name": data["name"],
            "environment": data["environment"],
            "server": data.get("server", instance.server) or "",
            "manager_login": data.get("manager_login", instance.manager_login) or "",
            "default_group": data["default_group"],
            "login_range_start": data["login_range_start"],
        }


# Symbols and policy --------------------------------------------------------------------------------


class SymbolForm(forms.ModelForm):
    class Meta:
        model = Symbol
        fields = SYMBOL_FIELDS
        labels = {
            "calc_mode": "Calculation mode",
            "tick_value": "Tick value (1 lot, profit currency)",
            "margin_rate": "Margin rate",
            "initial_margin": "Initial margin per lot (futures)",
            "triple_swap_day": "Triple swap day (1 = Monday)",
            "is_active": "Active",
        }

    def _post_clean(self):
        pass


class AliasForm(forms.Form):
    alias = forms.CharField(max_length=40, label="New alias", help_text=ALIAS_RULE)


class CommaListField(forms.CharField):
    """ "10, 30, 100" -> ["10", "30", "100"] (blank items dropped)."""

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [item.strip() for item in text.replace(";", ",").split(",") if item.strip()]

    def prepare_value(self, value):
        return ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else value


class TradingPolicyForm(forms.Form):
    leverage_choices = CommaListField(
        label="Leverage choices", help_text="Comma separated, e.g. 10, 30, 100, 500 (meaning 1:10, 1:30…)."
    )
    default_leverage = forms.IntegerField(min_value=1, max_value=MAX_LEVERAGE, label="Default leverage")
    account_currencies = CommaListField(label="Account currencies", help_text="ISO codes, e.g. USD, EUR.")
    demo_balance = forms.DecimalField(min_value=0, max_digits=20, decimal_places=2, label="Demo account balance")
    max_accounts_per_client = forms.IntegerField(min_value=1, max_value=100, label="Accounts per client (max)")
    state_stale_after_seconds = forms.IntegerField(
        min_value=10, max_value=86400, label="Account state is stale after (seconds)"
    )

    def clean_leverage_choices(self) -> list[int]:
        items = self.cleaned_data["leverage_choices"]
        bad = [item for item in items if not item.isdigit()]
        if bad:
            raise forms.ValidationError(f"Whole numbers only: {', '.join(bad)}.")
        return [int(item) for item in items]

    def clean_account_currencies(self) -> list[str]:
        items = [item.upper() for item in self.cleaned_data["account_currencies"]]
        bad = [item for item in items if item not in FIAT_CURRENCIES]
        if bad:
            raise forms.ValidationError(f"Not a currency accounts can hold: {', '.join(bad)}.")
        return items

    @classmethod
    def initial_for(cls, policy: TradingPolicy) -> dict:
        return {
            "leverage_choices": ", ".join(str(value) for value in sorted(policy.leverage_choices)),
            "default_leverage": policy.default_leverage,
            "account_currencies": ", ".join(policy.account_currencies),
            "demo_balance": policy.demo_balance,
            "max_accounts_per_client": policy.max_accounts_per_client,
            "state_stale_after_seconds": policy.state_stale_after_seconds,
        }
