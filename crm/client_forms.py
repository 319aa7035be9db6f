"""Forms of the client list and the client profile page (parsing only: crm.profile checks the values)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.db.models import Q
from django_countries import countries

from brokerage.models import User
from brokerage.roles import Role, perm
from crm.models import Client, Desk
from crm.models.clients import LANGUAGES


def _any(choices) -> list[tuple[str, str]]:
    return [("", "Any"), *choices]


def agent_choices(user) -> list[tuple[str, str]]:
    """Agents the viewer may filter by: sales staff and desk members; a sales agent only their desk and self."""
    if user.has_perm(perm("crm_view_all_clients")):
        agents = User.objects.filter(Q(groups__name=Role.SALES) | Q(desks__isnull=False), is_active=True)
    else:
        desk_ids = Desk.objects.filter(manager=user).values("pk")
        agents = User.objects.filter(Q(pk=user.pk) | Q(desks__in=desk_ids))
    agents = agents.distinct().order_by("first_name", "last_name", "email")
    return [("", "Any"), ("none", "Unassigned")] + [
        (str(agent.pk), agent.get_full_name() or agent.email) for agent in agents[:500]
    ]


class ClientFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Name, email or phone",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, email or phone", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(required=False, choices=_any(Client.Status.choices))
    country = forms.ChoiceField(required=False, choices=_any(list(countries)))
    source = forms.ChoiceField(required=False, choices=_any(Client.Source.choices))
    tag = forms.CharField(required=False, max_length=40)
    agent = forms.ChoiceField(required=False, label="Sales agent")
    lead_stage = forms.ChoiceField(required=False, label="Lead stage", choices=_any(Client.LeadStage.choices))
    kyc_status = forms.ChoiceField(required=False, label="KYC", choices=_any(Client.KycStatus.choices))
    created_from = forms.DateField(required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"}))
    ftd_from = forms.DateField(
        required=False, label="First deposit from", widget=forms.DateInput(attrs={"type": "date"})
    )
    ftd_to = forms.DateField(required=False, label="First deposit to", widget=forms.DateInput(attrs={"type": "date"}))
    source_detail = forms.CharField(required=False, max_length=100, label="Campaign")
    sort = forms.ChoiceField(
        required=False,
        choices=[("newest", "Newest"), ("name", "Name"), ("activity", "Recently active")],
    )
    segment = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

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
                choices.append((wanted, other.get_full_name() or other.email))
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
