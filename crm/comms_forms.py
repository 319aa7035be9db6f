"""Forms of the communication log pages (the services validate; these only parse)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from crm.links import person_label
from crm.models import EmailTemplate, Note
from crm.models.clients import LANGUAGES


class _Prefixed(forms.Form):
    """Ids of their own: several of these forms share the client 360 page with other panels."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class NoteForm(_Prefixed):
    id_prefix = "note"
    body = forms.CharField(
        label="Note",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Write a note; @Ann or @ann@example.com notifies a colleague"}
        ),
        max_length=10_000,
    )


class CallForm(_Prefixed):
    id_prefix = "call"
    call_direction = forms.ChoiceField(
        label="Direction", choices=Note.Direction.choices, initial=Note.Direction.OUTBOUND
    )
    call_outcome = forms.ChoiceField(label="Outcome", choices=[("", "Choose…"), *Note.Outcome.choices])
    duration_minutes = forms.DecimalField(
        label="Duration (minutes)", required=False, min_value=0, max_value=600, decimal_places=1
    )
    body = forms.CharField(
        label="Call notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What was said; @mentions work here too"}),
        max_length=10_000,
    )

    def duration_seconds(self) -> int | None:
        minutes = self.cleaned_data.get("duration_minutes")
        return None if minutes is None else int((minutes * Decimal(60)).to_integral_value())


class EmailForm(_Prefixed):
    id_prefix = "email"
    template = forms.ChoiceField(label="Template", required=False)
    subject = forms.CharField(label="Subject", required=False, max_length=200)
    body = forms.CharField(label="Message", required=False, widget=forms.Textarea(attrs={"rows": 5}), max_length=20_000)

    def __init__(self, *args, template_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "No template: write it below"), *[(n, n) for n in template_names]]


class TaskForm(_Prefixed):
    id_prefix = "task"
    title = forms.CharField(label="Task", max_length=200)
    due_at = forms.DateTimeField(
        label="Due (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    assignee = forms.ModelChoiceField(label="Assignee", queryset=None, empty_label="Choose…")
    description = forms.CharField(label="Details", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["assignee"].label_from_instance = person_label


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "language", "subject", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        labels = {"is_active": "Active (offered when sending)"}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = LANGUAGES

    def validate_unique(self):
        """The service checks the name and language (with a clearer message)."""
