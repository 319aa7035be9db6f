"""The sandbox card PSP's checkout form: the test cards only, checked as a PSP would."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone

from payments.adapters.sandbox_card import TEST_CARDS, TestCard, card_number_clean, luhn_valid


class SandboxCardForm(forms.Form):
    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "cc-number", "placeholder": "4242 4242 4242 4242"}
        ),
    )
    expiry = forms.CharField(
        label="Expiry (MM / YY)",
        max_length=7,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-exp", "placeholder": "12 / 34"}),
    )
    cvc = forms.CharField(
        label="CVC",
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-csc", "placeholder": "123"}),
    )

    card: TestCard | None = None

    def clean_card_number(self) -> str:
        digits = card_number_clean(self.cleaned_data["card_number"])
        if not digits or not luhn_valid(digits):
            raise forms.ValidationError("This card number is not valid.")
        if digits not in TEST_CARDS:
            raise forms.ValidationError("This is a sandbox: use one of the test cards listed on this page.")
        self.card = TEST_CARDS[digits]
        return digits

    def clean_expiry(self) -> str:
        match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2})\s*", self.cleaned_data["expiry"])
        if not match or not 1 <= int(match[1]) <= 12:
            raise forms.ValidationError("Enter the expiry as MM / YY.")
        month, year = int(match[1]), 2000 + int(match[2])
        today = timezone.now().date()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError("This card has expired.")
        return f"{month:02d}/{year % 100:02d}"

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not re.fullmatch(r"\d{3,4}", cvc):
            raise forms.ValidationError("The CVC is the 3 or 4 digits on the back of the card.")
        return cvc
