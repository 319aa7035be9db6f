"""Form fields shared by the trading pages of the portal and of /ops/."""

from datetime import date

from django import forms

# Dates a deal search accepts: wide enough for any history, narrow enough that "the next day" and the
# time zone arithmetic never leave what datetime can hold (9999-12-31 overflowed into a 500).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


class DayField(forms.DateField):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date", "min": "1970-01-01", "max": "2999-12-31"}))
        super().__init__(required=False, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(f"Choose a date between {FIRST_DAY:%Y-%m-%d} and {LAST_DAY:%Y-%m-%d}.")
