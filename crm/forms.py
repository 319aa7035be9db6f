from django import forms
from django_countries import countries

from crm import services


class ClientSignupForm(forms.Form):
    """Extra fields on the portal sign-up; allauth calls `signup` once the user exists."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    country = forms.ChoiceField(label="Country of residence", choices=[("", "Choose…"), *countries])

    field_order = ["first_name", "last_name", "country", "email", "password1", "password2"]

    def signup(self, request, user) -> None:
        services.client_register(
            user=user,
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
            country=self.cleaned_data["country"],
        )
