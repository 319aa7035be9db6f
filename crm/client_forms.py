"""Forms of the client list and the client profile page (parsing only: crm.profile checks the values)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_countries import countries

from brokerage.models import User
from brokerage.roles import Role, perm
from crm.links import person_label
from crm.models import Client, Desk
from crm.models.clients import LANGUAGES


def _any(choices) -> list[tuple[str, str]]:
    return [("", "Any"), *choices]


# Fast widgets: the filter bar renders 15 widgets on every list page, and Django renders each (and each
# <option> of a select: ~250 countries) through its widget templates, a sixth of the page's time. These
# give the same HTML built in Python; a select with fixed choices builds its options once per process
# and language and marks the chosen one per request.
_OPTIONS: dict[tuple[str, str], str] = {}


class _FastInput:
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
        return mark_safe(f'<input type="{widget["type"]}" name="{escape(name)}"{shown}{flatatt(widget["attrs"])}>')  # noqa: S308


class FastTextInput(_FastInput, forms.TextInput):
    pass


class FastDateInput(_FastInput, forms.DateInput):
    pass


class FastHiddenInput(_FastInput, forms.HiddenInput):
    pass


class FastTextarea(forms.Textarea):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        text = escape(widget["value"]) if widget["value"] else ""
        return mark_safe(f'<textarea name="{escape(name)}"{flatatt(widget["attrs"])}>\n{text}</textarea>')  # noqa: S308


class FastDateTimeInput(_FastInput, forms.DateTimeInput):
    pass


class FastNumberInput(_FastInput, forms.NumberInput):
    pass


class FastSelect(forms.Select):
    """A single select; `cache_key` names fixed choices whose options are built once per language."""

    cache_key = ""

    def __init__(self, attrs=None, choices=(), cache_key: str = ""):
        super().__init__(attrs, choices)
        self.cache_key = cache_key

    def _options(self) -> str:
        def build() -> str:
            return "".join(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in self.choices)

        if not self.cache_key:
            return build()
        key = (self.cache_key, get_language() or "")
        if key not in _OPTIONS:
            _OPTIONS[key] = build()
        return _OPTIONS[key]

    def render(self, name, value, attrs=None, renderer=None):
        chosen = self.format_value(value)
        options = self._options()
        if chosen:
            tag = f'<option value="{escape(chosen[0])}">'
            options = options.replace(tag, f"{tag[:-1]} selected>", 1)
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<select name="{escape(name)}"{flatatt(final)}>{options}</select>')  # noqa: S308


def agent_choices(user) -> list[tuple[str, str]]:
    """Agents the viewer may filter by: sales staff and desk members; a sales agent only their desk and self."""
    if user.has_perm(perm("crm_view_all_clients")):
        agents = User.objects.filter(Q(groups__name=Role.SALES) | Q(desks__isnull=False), is_active=True)
    else:
        desk_ids = Desk.objects.filter(manager=user).values("pk")
        agents = User.objects.filter(Q(pk=user.pk) | Q(desks__in=desk_ids))
    agents = agents.distinct().order_by("first_name", "last_name", "email")
    return [("", "Any"), ("none", "Unassigned")] + [(str(agent.pk), person_label(agent)) for agent in agents[:500]]


class ClientFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Name, email or phone",
        widget=FastTextInput(attrs={"type": "search", "placeholder": "Name, email or phone", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        required=False, choices=_any(Client.Status.choices), widget=FastSelect(cache_key="status")
    )
    country = forms.ChoiceField(required=False, choices=_any(list(countries)), widget=FastSelect(cache_key="country"))
    source = forms.ChoiceField(
        required=False, choices=_any(Client.Source.choices), widget=FastSelect(cache_key="source")
    )
    tag = forms.CharField(required=False, max_length=40, widget=FastTextInput)
    agent = forms.ChoiceField(required=False, label="Sales agent", widget=FastSelect)
    lead_stage = forms.ChoiceField(
        required=False,
        label="Lead stage",
        choices=_any(Client.LeadStage.choices),
        widget=FastSelect(cache_key="lead_stage"),
    )
    kyc_status = forms.ChoiceField(
        required=False, label="KYC", choices=_any(Client.KycStatus.choices), widget=FastSelect(cache_key="kyc")
    )
    created_from = forms.DateField(required=False, label="Created from", widget=FastDateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to", widget=FastDateInput(attrs={"type": "date"}))
    ftd_from = forms.DateField(required=False, label="First deposit from", widget=FastDateInput(attrs={"type": "date"}))
    ftd_to = forms.DateField(required=False, label="First deposit to", widget=FastDateInput(attrs={"type": "date"}))
    source_detail = forms.CharField(required=False, max_length=100, label="Campaign", widget=FastTextInput)
    sort = forms.ChoiceField(
        required=False,
        choices=[("newest", "Newest"), ("name", "Name"), ("activity", "Recently active")],
        widget=FastSelect(cache_key="sort"),
    )
    segment = forms.IntegerField(required=False, widget=FastHiddenInput, min_value=1)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        choices = agent_choices(user)
        # For those who see every client, a link may name any staff member (one who left, a back-office
        # holder): keep it as a choice. Others stay limited to their own desk.
        wanted = str(self.data.get("agent", "")) if self.is_bound else ""
        if (
            wanted.isdigit()
            and wanted not in {value for value, _ in choices}
            and user.has_perm(perm("crm_view_all_clients"))
        ):
            other = User.objects.filter(pk=int(wanted)).first()
            if other is not None:
                choices.append((wanted, person_label(other)))
        self.fields["agent"].choices = choices
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("id", f"f-{name}")


class ClientProfileForm(forms.Form):
    kind = forms.ChoiceField(choices=Client.Kind.choices)
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    native_name = forms.CharField(required=False, max_length=200, label="Name in native script")
    company_name = forms.CharField(required=False, max_length=200)
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    nationality = forms.ChoiceField(required=False, choices=[("", "—"), *countries])
    country = forms.ChoiceField(required=False, label="Country of residence", choices=[("", "—"), *countries])
    address_line1 = forms.CharField(required=False, max_length=200, label="Address")
    address_line2 = forms.CharField(required=False, max_length=200, label="Address (line 2)")
    city = forms.CharField(required=False, max_length=100)
    postal_code = forms.CharField(required=False, max_length=20)
    phone = forms.CharField(
        required=False, max_length=40, help_text="With the country code, or national in the client's country"
    )
    email = forms.CharField(required=False, max_length=254)
    language = forms.ChoiceField(choices=LANGUAGES)
    timezone = forms.ChoiceField(
        label="Time zone", choices=[(name, name) for name in sorted(zoneinfo.available_timezones())]
    )
    source = forms.ChoiceField(choices=Client.Source.choices)
    source_detail = forms.CharField(required=False, max_length=100, label="Campaign, referral or IB code")
    tags = forms.CharField(required=False, max_length=1000, help_text="Separated by commas")
    close = forms.BooleanField(required=False, label="Close this client's account")
    status_reason = forms.CharField(required=False, max_length=300, label="Reason for closing")

    @classmethod
    def for_client(cls, client: Client, data=None):
        initial = {
            name: getattr(client, name) for name in cls.base_fields if name not in {"tags", "close", "status_reason"}
        }
        initial["tags"] = ", ".join(client.tags)
        return cls(data, initial=initial)

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        if data.pop("close"):
            data["status"] = Client.Status.CLOSED
        else:
            data.pop("status_reason")
        return data


_LIGHTER = {
    forms.TextInput: FastTextInput,
    forms.DateInput: FastDateInput,
    forms.DateTimeInput: FastDateTimeInput,
    forms.NumberInput: FastNumberInput,
    forms.HiddenInput: FastHiddenInput,
    forms.Textarea: FastTextarea,
    forms.Select: FastSelect,
}


def lighten(form: forms.Form) -> forms.Form:
    """Render `form`'s plain widgets with the fast widgets above (same HTML, no per-widget templates)."""
    for field in form.fields.values():
        lighter = _LIGHTER.get(type(field.widget))
        if lighter is not None:
            field.widget.__class__ = lighter
    return form
