"""The demo's KYC: the bundled (fictitious) watchlist sample, and clients at every stage of the
file, so the review queue, the four-eyes approval, documents requested and expiry monitoring all have
something to show. Every file goes through the real services: onboarding, uploads and their checks,
screening, the workflow. A second run finds the files it made and adds nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from mrz.generator.td3 import TD3CodeGenerator
from PIL import Image, ImageDraw, ImageFont

from brokerage.models import User
from crm.models import Client
from demo.seed import DemoTenant, _user
from kyc.documents import document_check_now, document_upload
from kyc.models import Document, Review
from kyc.onboarding import profile_submit, questionnaire_submit, warning_acknowledge
from kyc.requirements import questionnaire_for
from kyc.review import review_approve, review_request_documents
from tenants.models import Tenant

PASSING = {
    "experience": "weekly",
    "leverage": "30",
    "stop_out": "closed",
    "loss": "no",
    "education": "course",
    "purpose": "hedging",
}
FAILING = {
    "experience": "never",
    "leverage": "unknown",
    "stop_out": "unknown",
    "loss": "unknown",
    "education": "none",
    "purpose": "income",
}


@dataclass(frozen=True)
class KycPerson:
    email: str
    first: str
    last: str
    born: date
    nationality: str
    country: str
    city: str
    native: str = ""
    answers: dict = field(default_factory=lambda: PASSING)
    address_text: bool = True
    passport_expires: date | None = None
    occupation: str = "Engineer"
    funds: str = "salary"


def _people(spec: DemoTenant) -> list[KycPerson]:
    today = timezone.localdate()
    return [
        # The name, date of birth and nationality of a sanctioned person in the sample: a hit to decide.
        KycPerson(f"rustam.karimov@{spec.slug}.example", "Rustam", "Karimov", date(1968, 3, 14), "RU", "CY", "Limassol"),
        # A PEP of the sample, with his name in Cyrillic on the profile.
        KycPerson(
            f"nikolai.zhukov@{spec.slug}.example", "Nikolai", "Zhukov", date(1959, 11, 23), "RU", "AE", "Dubai",
            native="Николай Жуков", funds="inheritance",
        ),
        # High risk from the country and the source of funds: the approval takes two officers.
        KycPerson(
            f"reza.tehrani@{spec.slug}.example", "Reza", "Tehrani", date(1981, 7, 2), "IR", "AE", "Dubai",
            funds="crypto", occupation="Crypto exchange operator",
        ),
        # Everything passes but the proof of address has no text to compare: staff confirm it.
        KycPerson(f"emma.schulz@{spec.slug}.example", "Emma", "Schulz", date(1990, 5, 21), "DE", "DE", "Berlin", address_text=False),
        # Failed the appropriateness test and acknowledged the warning; his bill goes to a person, who asks
        # for another document.
        KycPerson(f"lucas.moreau@{spec.slug}.example", "Lucas", "Moreau", date(1996, 1, 9), "FR", "FR", "Lyon", answers=FAILING,
            address_text=False,
        ),
        # Every check passes and the officer approved her; her passport expires within the notice period.
        KycPerson(
            f"sofia.rossi@{spec.slug}.example", "Sofia", "Rossi", date(1985, 9, 30), "IT", "IT", "Milan",
            passport_expires=today + timedelta(days=20),
        ),
    ]  # fmt: skip


def _font(size: int):
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "DejaVuSansMono.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _passport_image(person: KycPerson, mrz: str, number: str, expires: date) -> bytes:
    """A specimen-style photo page: what a client's phone picture of their passport would show."""
    image = Image.new("RGB", (1000, 640), (236, 240, 233))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1000, 70), fill=(40, 62, 96))
    draw.text((30, 18), "PASSPORT · SPECIMEN FOR THE DEMO", font=_font(28), fill="white")
    draw.rectangle((40, 110, 300, 440), fill=(200, 205, 198), outline=(120, 120, 120))
    draw.text((110, 260), "PHOTO", font=_font(30), fill=(120, 120, 120))
    rows = [
        ("Surname", person.last.upper()),
        ("Given names", person.first.upper()),
        ("Nationality", person.nationality),
        ("Date of birth", person.born.strftime("%d %b %Y").upper()),
        ("Passport No.", number),
        ("Date of expiry", expires.strftime("%d %b %Y").upper()),
    ]
    for index, (label, value) in enumerate(rows):
        draw.text((340, 110 + index * 55), label, font=_font(16), fill=(90, 90, 90))
        draw.text((340, 130 + index * 55), value, font=_font(24), fill=(20, 20, 20))
    for index, line in enumerate(mrz.splitlines()):
        draw.text((30, 500 + index * 50), line, font=_font(30), fill=(10, 10, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bill_pdf(person: KycPerson, issued: date) -> bytes:
    """A one-page utility bill as a PDF (Pillow writes it from an image)."""
    image = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "DEMO ENERGY LTD · ELECTRICITY BILL", font=_font(28), fill=(20, 60, 120))
    lines = [
        f"{person.first} {person.last}",
        f"12 Harbour Street, {person.city}",
        "",
        f"Issued {issued:%d %B %Y}",
        "Amount due 84.20",
    ]
    for index, line in enumerate(lines):
        draw.text((60, 160 + index * 40), line, font=_font(22), fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PDF")
    return buffer.getvalue()


def _file(person: KycPerson, spec: DemoTenant) -> Client:
    client = Client.objects.filter(email=person.email).first()
    if client is None:
        client = Client.objects.create(
            email=person.email, first_name=person.first, last_name=person.last,
            country=person.country, status=Client.Status.REGISTERED,
        )  # fmt: skip
    return client


def _onboard(client: Client, person: KycPerson, actor: User) -> None:
    today = timezone.localdate()
    if not hasattr(client, "financial_profile"):
        personal = {
            "first_name": person.first, "last_name": person.last, "native_name": person.native,
            "date_of_birth": person.born, "nationality": person.nationality, "country": person.country,
            "address_line1": "12 Harbour Street", "city": person.city, "postal_code": "10115",
        }  # fmt: skip
        financial = {
            "tax_residence": person.country, "tax_id": f"TIN{client.pk:06d}", "us_person": False,
            "employment": "employed", "occupation": person.occupation, "industry": "Technology",
            "employer": "Demo Works", "annual_income": "25k_100k", "net_worth": "100k_500k",
            "source_of_funds": person.funds, "source_of_funds_detail": "", "expected_yearly_deposit": "under_25k",
        }  # fmt: skip
        profile_submit(client=client, actor=actor, personal=personal, financial=financial)
    if not client.questionnaire_answers.exists():
        answer = questionnaire_submit(
            client=client, actor=actor, questionnaire=questionnaire_for(client), answers=person.answers
        )
        if not answer.passed:
            warning_acknowledge(client=client, actor=actor, answer=answer)
    if client.kyc_documents.exists():
        return
    expires = person.passport_expires or today.replace(year=today.year + 6)
    number = f"D{client.pk:07d}"[:9]
    mrz = str(
        TD3CodeGenerator(
            "P", _alpha3(person.nationality), person.last, person.first, number,
            _alpha3(person.nationality), person.born.strftime("%y%m%d"), "<", expires.strftime("%y%m%d"), "",
        )
    )  # fmt: skip
    uploads = [
        (Document.Kind.PASSPORT, "passport.png", _passport_image(person, mrz, number, expires), "image/png", {"mrz_text": mrz}),
        (
            Document.Kind.PROOF_OF_ADDRESS, "bill.pdf", _bill_pdf(person, today - timedelta(days=20)), "application/pdf",
            {
                "issued_on": today - timedelta(days=20),
                "address_text": f"{person.first} {person.last}, 12 Harbour Street, 10115 {person.city}" if person.address_text else "",
            },
        ),
    ]  # fmt: skip
    for kind, name, content, content_type, extra in uploads:
        with transaction.atomic():
            document = document_upload(
                client=client, kind=kind, side=Document.Side.SINGLE,
                upload=SimpleUploadedFile(name, content, content_type=content_type), actor=actor, **extra,
            )  # fmt: skip
        document_check_now(document.pk)


def _alpha3(code: str) -> str:
    """The MRZ's country code: ISO alpha-3, except Germany's "D" (ICAO 9303)."""
    from django_countries import countries

    return "D" if code == "DE" else countries.alpha3(code)


def seed_kyc(tenant: Tenant, spec: DemoTenant) -> None:
    from watchlists.loading import demo_load
    from watchlists.models import ListVersion

    with schema_context("public"):
        if not ListVersion.objects.filter(source=ListVersion.Source.DEMO, is_current=True).exists():
            demo_load()
    with tenant_context(tenant):
        officer = User.objects.get(email=f"compliance@{spec.slug}.test")
        for person in _people(spec):
            client = _file(person, spec)
            _onboard(client, person, officer)
        # Reza's high-risk file: the compliance officer gave the first approval; the owner may give the second.
        reza = Client.objects.get(email=f"reza.tehrani@{spec.slug}.example")
        review = Review.objects.filter(client=reza, status=Review.Status.OPEN).first()
        if review is not None and review.first_approver_id is None:
            review_approve(review, actor=officer)
        # Sofia's clean file: approved by the officer (automatic approval is off by default).
        sofia = Client.objects.get(email=f"sofia.rossi@{spec.slug}.example")
        review = Review.objects.filter(client=sofia, status=Review.Status.OPEN).first()
        if review is not None:
            review_approve(review, actor=officer)
        lucas = Client.objects.get(email=f"lucas.moreau@{spec.slug}.example")
        review = Review.objects.filter(client=lucas, status=Review.Status.OPEN).first()
        if review is not None:
            review_request_documents(
                review,
                actor=officer,
                kinds=[Document.Kind.PROOF_OF_ADDRESS],
                message="Your bill shows a different street from your profile: please upload a bank statement "
                "from the last three months with your current address.",
            )
        # A portal user who has not started, to walk the onboarding as a client.
        user = _user(
            f"newclient@{spec.slug}.test", first_name="Nora", last_name="Newman", roles=["client"], staff_mfa=False
        )
        Client.objects.get_or_create(
            email=user.email,
            defaults={"user": user, "first_name": "Nora", "last_name": "Newman", "country": spec.countries[0], "status": Client.Status.REGISTERED},
        )  # fmt: skip
        from kyc.expiry import expiry_scan

        expiry_scan()
