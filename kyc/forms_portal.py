"""Forms of the client portal's verification pages (kyc.views_portal). They parse what the browser
sent; kyc.onboarding and kyc.documents decide whether it is acceptable."""

from __future__ import annotations

from django import forms
from django_countries import countries

from kyc.models import Document, FinancialProfile, Questionnaire
from kyc.models.profiles import PERSONAL_FIELDS

PICK = [("", "Choose…")]

# Stored as written: the risk score reads the words (kyc.risk.CASH_INTENSIVE).
INDUSTRIES = [
    "Accounting and finance",
    "Agriculture",
    "Arms and defence",
    "Construction and real estate",
    "Crypto-assets",
    "Education",
    "Energy and mining",
    "Gambling and casinos",
    "Government and public sector",
    "Healthcare",
    "Hospitality and tourism",
    "Information technology",
    "Legal services",
    "Manufacturing",
    "Media and entertainment",
    "Money services and exchange",
    "Precious metals and jewellery",
    "Retail and wholesale",
    "Transport and logistics",
    "Other",
]


def _country_choices():
    return PICK + list(countries)


class ProfileForm(forms.Form):
    """Personal data (saved on the CRM record) and the financial profile, in one form."""

    first_name = forms.CharField(
        label="First name(s)",
        max_length=100,
        required=False,
        help_text="In Latin letters, as written in your passport or ID card.",
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=100,
        required=False,
        help_text="In Latin letters, as written in your passport or ID card.",
    )
    native_name = forms.CharField(
        label="Name in your own script",
        max_length=200,
        required=False,
        help_text="If your passport also shows your name in another script (Cyrillic, Arabic, Chinese…).",
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="You must be at least 18.",
    )
    nationality = forms.ChoiceField(choices=_country_choices, required=False)
    country = forms.ChoiceField(label="Country of residence", choices=_country_choices, required=False)
    address_line1 = forms.CharField(label="Street and number", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address, second line", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)

    tax_residence = forms.ChoiceField(label="Country of tax residence", choices=_country_choices, required=False)
    tax_id = forms.CharField(
        label="Tax identification number",
        required=False,
        # The browser stops at 30; kyc.onboarding says what a tax number may hold.
        widget=forms.TextInput(attrs={"maxlength": 30, "autocomplete": "off"}),
        help_text=(
            "Your TIN, national insurance or social security number, as used for taxes there: "
            "letters, digits, spaces, '-', '/' and '.'."
        ),
    )
    us_person = forms.BooleanField(
        label="I am a US citizen or US tax resident",
        required=False,
        help_text="Needed for FATCA reporting.",
    )
    employment = forms.ChoiceField(
        label="Employment status", choices=PICK + FinancialProfile.Employment.choices, required=False
    )
    occupation = forms.CharField(label="Occupation", max_length=100, required=False)
    industry = forms.ChoiceField(label="Industry", choices=PICK + [(name, name) for name in INDUSTRIES], required=False)
    employer = forms.CharField(label="Employer", max_length=120, required=False)
    annual_income = forms.ChoiceField(
        label="Yearly income (USD)", choices=PICK + FinancialProfile.Band.choices, required=False
    )
    net_worth = forms.ChoiceField(
        label="Net worth (USD)",
        choices=PICK + FinancialProfile.Band.choices,
        required=False,
        help_text="Savings and investments, without your main home.",
    )
    source_of_funds = forms.ChoiceField(
        label="Where does the money you will deposit come from?",
        choices=PICK + FinancialProfile.Funds.choices,
        required=False,
    )
    source_of_funds_detail = forms.CharField(
        label="Tell us more about the source",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you chose “Other”.",
    )
    expected_yearly_deposit = forms.ChoiceField(
        label="How much do you expect to deposit in a year? (USD)",
        choices=PICK + FinancialProfile.Band.choices,
        required=False,
    )

    PERSONAL = PERSONAL_FIELDS
    ABOUT_YOU = ("first_name", "last_name", "native_name", "date_of_birth", "nationality")
    ADDRESS = ("address_line1", "address_line2", "city", "postal_code", "country")
    TAX = ("tax_residence", "tax_id", "us_person")
    WORK = ("employment", "occupation", "industry", "employer")
    WEALTH = ("annual_income", "net_worth", "source_of_funds", "source_of_funds_detail", "expected_yearly_deposit")

    def section(self, names):
        return [self[name] for name in names]

    def sections(self):
        return [
            ("About you", "As written in your identity document.", self.section(self.ABOUT_YOU)),
            ("Home address", "Where you live now; your proof of address must show it.", self.section(self.ADDRESS)),
            ("Tax", "", self.section(self.TAX)),
            ("Employment", "", self.section(self.WORK)),
            ("Income and funds", "", self.section(self.WEALTH)),
        ]

    def personal(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.PERSONAL}

    def financial(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name not in self.PERSONAL}


class QuestionnaireForm(forms.Form):
    """One radio group per question of one published version; the version's id travels along so a
    version published meanwhile is noticed."""

    questionnaire = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, questionnaire: Questionnaire, **kwargs):
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        self.fields["questionnaire"].initial = questionnaire.pk
        for number, question in enumerate(questionnaire.questions, start=1):
            # Choices are not limited here: a wrong one gets the service's clear message.
            self.fields[question["code"]] = forms.CharField(
                label=f"{number}. {question['text']}",
                required=False,
                widget=forms.RadioSelect(choices=[(c["code"], c["text"]) for c in question["choices"]]),
            )

    def answers(self) -> dict[str, str]:
        return {code: value for code, value in self.cleaned_data.items() if code != "questionnaire" and value}

    def question_fields(self):
        return [field for field in self if field.name != "questionnaire"]


IMAGE_OR_PDF = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
MRZ_HELP = (
    "Type the 2 or 3 lines of letters, digits and < signs at the bottom of the photo page "
    "(on an identity card, on the back), one line per row, exactly as printed. With them we check "
    "your document in seconds; without them a person checks it."
)


class DocumentUploadForm(forms.Form):
    """One document: a single page, or the two sides of a card. Which fields a kind shows is in
    KIND_FIELDS; the template shows one form per kind."""

    kind = forms.ChoiceField(choices=Document.Kind.choices, widget=forms.HiddenInput)
    single = forms.FileField(label="Photo or scan", required=False)
    front = forms.FileField(label="Front side", required=False)
    back = forms.FileField(label="Back side", required=False)
    mrz_text = forms.CharField(
        label="Machine-readable lines",
        required=False,
        max_length=200,
        widget=forms.Textarea(
            attrs={"rows": 3, "class": "mono", "spellcheck": "false", "autocapitalize": "characters", "wrap": "off"}
        ),
        help_text=MRZ_HELP,
    )
    issued_on = forms.DateField(
        label="Date of issue",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The date printed on the bill or statement.",
    )
    expires_on = forms.DateField(
        label="Valid until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The expiry date printed on the licence.",
    )
    address_text = forms.CharField(
        label="Name and address as printed (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Pasting them lets our checks compare them with your profile at once.",
    )

    KIND_FIELDS = {
        Document.Kind.PASSPORT: ("single", "mrz_text"),
        Document.Kind.ID_CARD: ("front", "back", "mrz_text"),
        Document.Kind.DRIVING_LICENCE: ("front", "back", "expires_on"),
        Document.Kind.PROOF_OF_ADDRESS: ("single", "issued_on", "address_text"),
        Document.Kind.SELFIE: ("single",),
    }

    def __init__(self, *args, kind: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.document_kind = self.data.get("kind", kind) if self.is_bound else kind
        self.fields["kind"].initial = self.document_kind
        self.auto_id = f"{self.document_kind or 'doc'}_%s"
        for name in ("single", "front", "back"):
            self.fields[name].widget.attrs["accept"] = IMAGE_OR_PDF
        if self.document_kind == Document.Kind.SELFIE:
            self.fields["single"].label = "Photo of you holding your identity document"
            self.fields["single"].widget.attrs.update({"accept": "image/jpeg,image/png,image/webp", "capture": "user"})
        elif self.document_kind == Document.Kind.PROOF_OF_ADDRESS:
            self.fields["single"].label = "Bill or statement"
        elif self.document_kind == Document.Kind.PASSPORT:
            self.fields["single"].label = "Photo page"

    def files_by_side(self) -> dict:
        return {
            side: self.cleaned_data.get(side) for side in ("single", "front", "back") if self.cleaned_data.get(side)
        }

    def shown_fields(self):
        return [self[name] for name in self.KIND_FIELDS.get(self.document_kind, ())]
