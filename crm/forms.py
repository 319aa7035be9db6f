from django import forms

from crm import services


class ClientSignupForm(forms.Form):
    """Extra fields on the portal sign-up; allauth calls `signup` once the user exists."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    country = forms.CharField(max_length=2, min_length=2, help_text="Two-letter country code, e.g. GB")

    field_order = ["first_name", "last_name", "country", "email", "password1", "password2"]

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip().upper()
        if not value.isalpha():
            raise forms.ValidationError("Use a two-letter country code such as GB or DE.")
        return value

    def signup(self, request, user) -> None:
        services.client_register(
            user=user,
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
            country=self.cleaned_data["country"],
        )
