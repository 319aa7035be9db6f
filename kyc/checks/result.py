"""What one automatic check of a document found; kyc.documents stores it as a DocumentCheck."""

from __future__ import annotations

from dataclasses import dataclass, field

from kyc.models import DocumentCheck

PASS, WARN, FAIL = DocumentCheck.Outcome.PASS, DocumentCheck.Outcome.WARN, DocumentCheck.Outcome.FAIL


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
