"""Input and output shapes of the CRM API (crm.api). Inputs only parse; the services validate and decide."""

from __future__ import annotations

from rest_framework import serializers

from crm.models import Client, Note, Segment, Task, TimelineEvent
from crm.models.clients import LANGUAGES
from crm.profile import PROFILE_FIELDS

# Clients ------------------------------------------------------------------------------------------


class ClientOutput(serializers.ModelSerializer):
    sales_agent_email = serializers.EmailField(source="sales_agent.email", read_only=True, default=None)
    retention_agent_email = serializers.EmailField(source="retention_agent.email", read_only=True, default=None)

    class Meta:
        model = Client
        fields = [
            "id",
            *PROFILE_FIELDS,
            "phone_verified_at",
            "lead_stage",
            "sales_agent",
            "sales_agent_email",
            "retention_agent",
            "retention_agent_email",
            "kyc_status",
            "risk_level",
            "first_deposit_at",
            "last_deposit_at",
            "last_trade_at",
            "last_activity_at",
            "created_at",
            "updated_at",
        ]


class ClientFilterInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Name, email or phone.")
    search = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Same as q.")
    status = serializers.ChoiceField(choices=Client.Status.choices, required=False)
    country = serializers.CharField(required=False, max_length=2, help_text="ISO 3166-1 alpha-2.")
    source = serializers.ChoiceField(choices=Client.Source.choices, required=False)
    tag = serializers.CharField(required=False, max_length=40)
    agent = serializers.RegexField(
        r"^(none|\d{1,18})$", required=False, help_text='Sales agent user id, or "none" for unassigned.'
    )
    lead_stage = serializers.ChoiceField(choices=Client.LeadStage.choices, required=False)
    kyc_status = serializers.ChoiceField(choices=Client.KycStatus.choices, required=False)


class LeadFieldsInput(serializers.Serializer):
    """What a lead is created with (crm.leads.lead_create checks it, duplicates included)."""

    first_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    company_name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    email = serializers.CharField(required=False, allow_blank=True, max_length=300)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    country = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="ISO code or name.")
    language = serializers.CharField(required=False, allow_blank=True, max_length=40)
    source = serializers.CharField(required=False, allow_blank=True, max_length=40)
    source_detail = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)


class ClientCreateInput(LeadFieldsInput):
    """A new client record starts as a lead; the rest of the profile is set in the same transaction."""

    native_name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    nationality = serializers.CharField(required=False, allow_blank=True, max_length=10)
    address_line1 = serializers.CharField(required=False, allow_blank=True, max_length=300)
    address_line2 = serializers.CharField(required=False, allow_blank=True, max_length=300)
    city = serializers.CharField(required=False, allow_blank=True, max_length=200)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    timezone = serializers.CharField(required=False, max_length=64)


class ClientUpdateInput(serializers.Serializer):
    """PATCH: only the fields sent change (crm.profile.client_update validates each)."""

    # Plain strings where another component already carries the enum (one name per choice set).
    kind = serializers.CharField(required=False, max_length=20, help_text="person or company")
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    native_name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    company_name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    nationality = serializers.CharField(required=False, allow_blank=True, max_length=10)
    country = serializers.CharField(required=False, allow_blank=True, max_length=10)
    address_line1 = serializers.CharField(required=False, allow_blank=True, max_length=300)
    address_line2 = serializers.CharField(required=False, allow_blank=True, max_length=300)
    city = serializers.CharField(required=False, allow_blank=True, max_length=200)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.CharField(required=False, allow_blank=True, max_length=300)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False)
    timezone = serializers.CharField(required=False, max_length=64)
    source = serializers.ChoiceField(choices=Client.Source.choices, required=False)
    source_detail = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    status = serializers.ChoiceField(
        choices=[(Client.Status.CLOSED, "Closed")], required=False, help_text="Only closing is done here."
    )
    status_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


# Timeline -----------------------------------------------------------------------------------------


class TimelineEventOutput(serializers.ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = ["id", "occurred_at", "kind", "topic", "title", "detail", "url", "actor_label"]


class TimelineFilterInput(serializers.Serializer):
    kind = serializers.MultipleChoiceField(choices=TimelineEvent.Kind.choices, required=False)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    cursor = serializers.CharField(required=False, max_length=200, help_text="`next_cursor` of the previous page.")
    size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class TimelinePageOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="URL of the next (older) page, null at the end.")
    next_cursor = serializers.CharField(allow_null=True)
    results = TimelineEventOutput(many=True)


# Leads --------------------------------------------------------------------------------------------


class LeadFilterInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    lead_stage = serializers.ChoiceField(choices=Client.LeadStage.choices, required=False)
    country = serializers.CharField(required=False, max_length=2)
    source = serializers.ChoiceField(choices=Client.Source.choices, required=False)
    tag = serializers.CharField(required=False, max_length=40)
    agent = serializers.RegexField(r"^(none|\d{1,18})$", required=False)


class LeadStageInput(serializers.Serializer):
    stage = serializers.CharField(max_length=20, help_text="One of the values of the clients' lead_stage.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text="Needed for lost.")


# Notes --------------------------------------------------------------------------------------------


class NoteOutput(serializers.ModelSerializer):
    author_email = serializers.EmailField(source="author.email", read_only=True)

    class Meta:
        model = Note
        fields = [
            "id",
            "client_id",
            "kind",
            "body",
            "call_direction",
            "call_outcome",
            "call_duration_seconds",
            "author",
            "author_email",
            "created_at",
        ]


class NoteInput(serializers.Serializer):
    kind = serializers.CharField(max_length=10, default=Note.Kind.NOTE, help_text="note or call")
    body = serializers.CharField(required=False, allow_blank=True, max_length=20_000, default="")
    call_direction = serializers.ChoiceField(choices=Note.Direction.choices, required=False, default="")
    call_outcome = serializers.ChoiceField(choices=Note.Outcome.choices, required=False, default="")
    call_duration_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=0, default=None)


# Tasks --------------------------------------------------------------------------------------------


class TaskOutput(serializers.ModelSerializer):
    assignee_email = serializers.EmailField(source="assignee.email", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "due_at",
            "status",
            "client_id",
            "assignee",
            "assignee_email",
            "created_by",
            "completed_at",
            "created_at",
        ]


class TaskFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    assignee = serializers.IntegerField(required=False, help_text="Anyone's with crm_manage; else only your own.")
    client = serializers.IntegerField(required=False)


class TaskInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    due_at = serializers.DateTimeField()
    assignee = serializers.IntegerField(required=False, help_text="A colleague's user id; you by default.")
    client = serializers.IntegerField(required=False, allow_null=True, default=None)


# Segments -----------------------------------------------------------------------------------------


class SegmentOutput(serializers.ModelSerializer):
    created_by_email = serializers.EmailField(source="created_by.email", read_only=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "criteria", "created_by", "created_by_email", "created_at", "updated_at"]


class CriterionInput(serializers.Serializer):
    key = serializers.CharField(max_length=100)
    params = serializers.DictField(required=False, default=dict)


class SegmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=600, default="")
    criteria = CriterionInput(many=True)
