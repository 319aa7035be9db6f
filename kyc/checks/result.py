"""What one automatic check of a document found; kyc.documents stores it as a DocumentCheck."""

from __future__ import annotations

from dataclasses import dataclass, field

from kyc.models import DocumentCheck

PASS, WARN, FAIL = DocumentCheck.Outcome.PASS, DocumentCheck.Outcome.WARN, DocumentCheck.Outcome.FAIL

# What staff read for each check's stored name (DocumentCheck.name), wherever checks are listed.
CHECK_LABELS = {
    "file": "File",
    "mrz": "MRZ",
    "name": "Name",
    "date_of_birth": "Date of birth",
    "nationality": "Nationality",
    "expiry": "Expiry date",
    "issue_date": "Issue date",
    "name_and_address": "Name and address",
    "face": "Face",
    "checks": "Automatic checks",
}

# The status_reason of a document that needs a person: the client reads it, the checks keep the detail.
NEEDS_REVIEW_REASON = "Our team will check this document by hand."


def check_label(name: str) -> str:
    """The label of a check; an unknown name (a check added later) is made readable."""
    return CHECK_LABELS.get(name) or name.replace("_", " ").capitalize()


@dataclass
class CheckResult:
    name: str
    outcome: str
    summary: str
    evidence: dict = field(default_factory=dict)


def score_outcome(score: int, *, passing: int, warning: int) -> str:
    """PASS at or above `passing`, WARN at or above `warning`, FAIL below."""
    if score >= passing:
        return PASS
    return WARN if score >= warning else FAIL
