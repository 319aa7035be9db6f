"""Forms of the client portal's profile page (crm.views.portal)."""

from django import forms

from crm.models.clients import LANGUAGES
from crm.portal_profile import timezone_choices, timezone_groups


class ContactForm(forms.Form):
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address, second line", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    language = forms.ChoiceField(
        choices=LANGUAGES,
        help_text="The language of the emails we send you. The portal itself is in English for now.",
    )
    timezone = forms.ChoiceField(label="Time zone", choices=())

    def __init__(self, *args, current_timezone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        choices: list = []
        if current_timezone and current_timezone not in timezone_choices():
            # An older or staff-set name (say "US/Eastern") stays selectable until the client picks another.
            choices.append((current_timezone, current_timezone.replace("_", " ")))
        self.fields["timezone"].choices = choices + timezone_groups()


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label="New phone number",
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+44 7911 123456"}),
        help_text="With the country code. We text a 6-digit code to it; your number changes once you enter it.",
    )


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the text message",
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}),
    )


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        help_text="We email a confirmation link to it. Your address changes once you follow the link.",
    )
