"""Forms of the lead pages (crm/views/leads.py)."""

from django import forms
from django_countries import countries

from crm.lead_import import FIELDS, MAX_BYTES
from crm.models import Client
from crm.models.clients import LANGUAGES


class LeadForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company_name = forms.CharField(max_length=200, required=False, label="Company")
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput)
    phone = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
        help_text="With the country code, or a national number of the country below.",
    )
    country = forms.ChoiceField(choices=[("", "—"), *countries], required=False)
    language = forms.ChoiceField(choices=LANGUAGES, initial="en")
    source = forms.ChoiceField(choices=Client.Source.choices, initial=Client.Source.MANUAL)
    source_detail = forms.CharField(max_length=100, required=False, label="Campaign / source detail")
    tags = forms.CharField(max_length=400, required=False, help_text="Separated by commas.")


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=Client.LeadStage.choices)
    reason = forms.CharField(max_length=300, required=False)


class LeadUploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV (comma, semicolon or tab separated), .csv or .txt, at most {MAX_BYTES // (1024 * 1024)} MB. "
        "The first line names the columns."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
        return upload


class MappingForm(forms.Form):
    """One choice per client field: which column of the file holds it."""

    tags = forms.CharField(
        max_length=400,
        required=False,
        label="Tags for every lead",
        help_text="Added to every lead; separated by commas.",
    )
    source = forms.ChoiceField(
        label="Default source",
        choices=Client.Source.choices,
        initial=Client.Source.IMPORT,
        help_text="For rows without a source column value we know.",
    )
    source_detail = forms.CharField(
        max_length=100,
        required=False,
        label="Default campaign / source detail",
        help_text="For rows without a campaign.",
    )

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not in the file —"), *((column, column) for column in header)]
        self.mapping_fields = []
        for field, (label, _names) in FIELDS.items():
            self.fields[f"map_{field}"] = forms.ChoiceField(choices=choices, required=False, label=label)
            self.mapping_fields.append(self[f"map_{field}"])

    def mapping(self) -> dict[str, str]:
        return {field: self.cleaned_data.get(f"map_{field}", "") for field in FIELDS}
