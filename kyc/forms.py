"""Forms of the ops review queue and review page."""

from __future__ import annotations

from django import forms

from crm.models import Client
from kyc.models import Document
from kyc.review import MESSAGE_MAX


class QueueFilterForm(forms.Form):
    risk = forms.ChoiceField(
        required=False, label="Risk level", choices=[("", "Any risk level"), *Client.RiskLevel.choices]
    )
    second = forms.BooleanField(required=False, label="Awaiting a second approval")
    overdue = forms.BooleanField(required=False, label="Over the SLA")
    hits = forms.BooleanField(required=False, label="With open watchlist hits")


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX,
        label="Reason",
        help_text="The client reads it on their verification page and in the email.",
    )


class RequestDocumentsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=Document.Kind.choices, widget=forms.CheckboxSelectMultiple, label="Documents to upload"
    )
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX,
        label="Message to the client",
        help_text="Say what is wrong or missing: the client reads it.",
    )


class DocumentRejectForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why", help_text="The client reads it.")


class HitDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("false_positive", "False positive"), ("confirmed", "Confirmed match")])
    note = forms.CharField(max_length=500, required=False, label="Note")

    def clean(self):
        data = super().clean()
        if data.get("decision") == "false_positive" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why it is not this person (the note is kept with the decision).")
        return data
