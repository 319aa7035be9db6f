from django.db import models
from django_countries.fields import CountryField

from crm.models import Client

# The CRM record's personal data that the KYC profile step asks for (the rest is FinancialProfile).
PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "native_name",
    "date_of_birth",
    "nationality",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
)


class FinancialProfile(models.Model):
    """What the onboarding asks beyond the CRM's personal data: tax, employment, wealth, funds."""

    class Employment(models.TextChoices):
        EMPLOYED = "employed", "Employed"
        SELF_EMPLOYED = "self_employed", "Self-employed"
        RETIRED = "retired", "Retired"
        STUDENT = "student", "Student"
        UNEMPLOYED = "unemployed", "Not employed"

    class Band(models.TextChoices):
        UNDER_25K = "under_25k", "Under 25,000"
        FROM_25K = "25k_100k", "25,000 – 100,000"
        FROM_100K = "100k_500k", "100,000 – 500,000"
        OVER_500K = "over_500k", "Over 500,000"

    class Funds(models.TextChoices):
        SALARY = "salary", "Salary or business income"
        SAVINGS = "savings", "Savings"
        INVESTMENTS = "investments", "Investments"
        INHERITANCE = "inheritance", "Inheritance or gift"
        PROPERTY = "property", "Sale of property"
        PENSION = "pension", "Pension"
        CRYPTO = "crypto", "Crypto-assets"
        OTHER = "other", "Other"

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="financial_profile")
    tax_residence = CountryField(blank=True)
    tax_id = models.CharField(max_length=40, blank=True)
    us_person = models.BooleanField(default=False)
    employment = models.CharField(max_length=20, choices=Employment.choices, blank=True)
    occupation = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=40, blank=True)
    employer = models.CharField(max_length=120, blank=True)
    annual_income = models.CharField(max_length=20, choices=Band.choices, blank=True)
    net_worth = models.CharField(max_length=20, choices=Band.choices, blank=True)
    source_of_funds = models.CharField(max_length=20, choices=Funds.choices, blank=True)
    source_of_funds_detail = models.CharField(max_length=300, blank=True)
    expected_yearly_deposit = models.CharField(max_length=20, choices=Band.choices, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Financial profile of {self.client_id}"
