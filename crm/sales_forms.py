"""Forms of the sales pages (desks, rules, KPIs, reassignment); they parse, services decide."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django_countries import countries

from brokerage.models import User
from brokerage.roles import STAFF_ROLES, perm
from crm.assignment import agents_all, assignable_agents, staff_with_client_access
from crm.kpis import PRESETS
from crm.links import person_label
from crm.models import AssignmentRule, Client
from crm.models.clients import LANGUAGES
from crm.visibility import desk_member_ids


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj) if obj.is_active else f"{person_label(obj)} (inactive)"


class AgentsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj) -> str:
        return person_label(obj)


class DeskForm(forms.Form):
    name = forms.CharField(max_length=100)
    manager = AgentChoiceField(queryset=User.objects.none(), required=False, empty_label="No manager")
    members = AgentsField(queryset=User.objects.none(), required=False, label="Agents on the desk")

    def __init__(self, *args, current_members=(), current_manager=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Agents are sellers; a manager may be anyone with client access. The current manager and
        # members stay listed even when they no longer qualify, so the form shows (and can drop) them.
        keep = [u.pk for u in current_members]
        agents = User.objects.filter(Q(pk__in=agents_all().values("pk")) | Q(pk__in=keep))
        self.fields["members"].queryset = agents.order_by("first_name", "last_name", "email")
        managers = Q(pk__in=staff_with_client_access().values("pk"))
        if current_manager is not None:
            managers |= Q(pk=current_manager.pk)
        self.fields["manager"].queryset = User.objects.filter(managers).order_by("first_name", "last_name", "email")


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    team = forms.ChoiceField(choices=AssignmentRule.Team.choices, initial="sales")
    priority = forms.IntegerField(min_value=0, initial=100, help_text="Lower runs first; the first matching rule wins.")
    countries = forms.MultipleChoiceField(
        choices=list(countries),
        required=False,
        help_text="Country of residence; none chosen: any. Hold Ctrl (⌘) to pick several.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    languages = forms.MultipleChoiceField(
        choices=LANGUAGES, required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: any."
    )
    sources = forms.MultipleChoiceField(
        choices=Client.Source.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any.",
    )
    agents = AgentsField(queryset=User.objects.none(), required=False, label="Agents in the rotation")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = agents_all()


class RuleTestForm(forms.Form):
    country = forms.ChoiceField(choices=[("", "Any / unknown"), *countries], required=False)
    language = forms.ChoiceField(choices=LANGUAGES, required=False, initial="en")
    source = forms.ChoiceField(choices=Client.Source.choices, required=False, initial="organic")
    team = forms.ChoiceField(choices=AssignmentRule.Team.choices, required=False, initial="sales")


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False, initial="month")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


def reassign_sources(user):
    """Whose clients `user` may move: every staff member (left ones too) for crm_manage, else their desks'."""
    staff = User.objects.filter(pk__in=User.objects.filter(groups__name__in=STAFF_ROLES).values("pk"))
    if not user.has_perm(perm("crm_manage")):
        staff = staff.filter(pk__in=desk_member_ids(user))
    return staff.order_by("-is_active", "first_name", "last_name", "email")


class ReassignForm(forms.Form):
    ROLES = [("sales_agent", "Sales agent"), ("retention_agent", "Retention agent")]

    from_agent = AgentChoiceField(queryset=User.objects.none(), label="Clients of", empty_label="Choose an agent")
    role = forms.ChoiceField(choices=ROLES, initial="sales_agent", label="Held as")
    status = forms.ChoiceField(choices=[("", "Any status"), *Client.Status.choices], required=False)
    country = forms.ChoiceField(choices=[("", "Any country"), *countries], required=False)
    to_agent = AgentChoiceField(queryset=User.objects.none(), label="Move to", required=False, empty_label="Choose…")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_agent"].queryset = reassign_sources(user)
        self.fields["to_agent"].queryset = assignable_agents(user)
        # The agent whose clients move is no target: left out of "Move to" (and refused by the view).
        source = str(self.data.get("from_agent", "") if self.is_bound else self.initial.get("from_agent", "") or "")
        if source:
            field = self.fields["to_agent"]
            field.widget.choices = [(value, label) for value, label in field.choices if str(value) != source]
