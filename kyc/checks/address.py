"""Proof of address: recent enough (KycSettings.address_max_age_months), and showing the client's name
and the address in their profile. The text is what the client pasted from the document (or an OCR
step read); without it a person confirms."""

from __future__ import annotations

import calendar
from datetime import date

from crm.models import Client
from kyc.checks.names import normalise, text_contains_score
from kyc.checks.result import FAIL, PASS, WARN, CheckResult, score_outcome

# 0-100 fuzzy scores of the name and of each address part found in the text.
MATCH_PASS, MATCH_WARN = 85, 65


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def issue_date_check(issued_on: date | None, *, max_age_months: int, today: date) -> CheckResult:
    oldest = months_before(today, max_age_months)
    evidence = {
        "issued_on": issued_on.isoformat() if issued_on else None,
        "oldest_accepted": oldest.isoformat(),
        "max_age_months": max_age_months,
    }
    if issued_on is None:
        return CheckResult("issue_date", WARN, "No issue date was given: staff to confirm the date.", evidence)
    if issued_on > today:
        return CheckResult("issue_date", FAIL, f"The issue date {issued_on:%d %b %Y} is in the future.", evidence)
    if issued_on < oldest:
        return CheckResult(
            "issue_date",
            FAIL,
            f"The document was issued on {issued_on:%d %b %Y}, more than {max_age_months} months ago. "
            f"Upload one from the last {max_age_months} months.",
            evidence,
        )
    return CheckResult("issue_date", PASS, f"Issued on {issued_on:%d %b %Y}, recent enough.", evidence)


def _address_parts(client: Client) -> dict[str, str]:
    parts = {"address": client.address_line1, "postal_code": client.postal_code, "city": client.city}
    return {name: value for name, value in parts.items() if value.strip()}


def content_check(text: str, *, client: Client) -> CheckResult:
    if not text.strip():
        return CheckResult(
            "name_and_address",
            WARN,
            "No text of the document was given: staff to confirm the name and address.",
            {},
        )
    plain = normalise(text)
    full_name = f"{client.first_name} {client.last_name}"
    name = max(
        text_contains_score(full_name, plain), text_contains_score(f"{client.last_name} {client.first_name}", plain)
    )
    parts = _address_parts(client)
    scores = {"name": name}
    for part, value in parts.items():
        if part == "postal_code":
            # "SW1A 1AA" and "SW1A1AA" are the same code.
            scores[part] = 100 if normalise(value).replace(" ", "") in plain.replace(" ", "") else 0
        else:
            scores[part] = text_contains_score(value, plain)
    evidence = {
        "profile": {"name": full_name, **parts},
        "scores": scores,
        "text": text[:500],
    }
    if "address" not in parts:
        return CheckResult(
            "name_and_address", WARN, "The profile has no address to compare: staff to confirm.", evidence
        )
    outcome = score_outcome(min(scores.values()), passing=MATCH_PASS, warning=MATCH_WARN)
    missing = [part.replace("_", " ") for part, score in scores.items() if score < MATCH_PASS]
    if outcome == PASS:
        summary = "The document shows the client's name and the address in the profile."
    elif outcome == WARN:
        summary = "The document's " + " and ".join(missing) + " only partly match the profile: staff to confirm."
    else:
        summary = (
            "The document does not show your " + " and ".join(missing) + " as in your profile. "
            "Upload a document addressed to you at that address, or correct your profile."
        )
    return CheckResult("name_and_address", outcome, summary, evidence)


def address_checks(*, issued_on: date | None, text: str, client: Client, max_age_months: int, today: date):
    return [issue_date_check(issued_on, max_age_months=max_age_months, today=today), content_check(text, client=client)]
