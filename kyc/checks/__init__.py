"""The automatic checks of one document, chosen by its kind; kyc.documents stores the results.

`document_checks` returns the results and the Document fields they fill (number, country, expiry
from an MRZ). A check that cannot run (a bug, an unexpected file) becomes a WARN for a person,
never a crash of the task.
"""

from __future__ import annotations

import logging
from datetime import date

from brokerage.errors import ApplicationError
from kyc.checks.address import address_checks
from kyc.checks.mrz import expiry_check, mrz_checks
from kyc.checks.result import FAIL, NEEDS_REVIEW_REASON, PASS, WARN, CheckResult
from kyc.models import Document, KycSettings
from kyc.uploads import bytes_check

logger = logging.getLogger(__name__)

Kind, Side = Document.Kind, Document.Side


def file_check(document: Document, data: bytes) -> CheckResult:
    try:
        checked = bytes_check(data, name=document.original_name, declared_type=document.content_type)
    except ApplicationError as error:
        return CheckResult("file", FAIL, error.fields["upload"][0], {"size": len(data)})
    facts = checked.evidence()
    shape = f"{facts['pages']} page(s)" if "pages" in facts else f"{facts['width']} × {facts['height']} pixels"
    return CheckResult("file", PASS, f"{facts['type']}, {shape}, {checked.size:,} bytes.", facts)


def licence_dates_check(issued_on: date, *, expires_on: date | None, today: date) -> CheckResult:
    """A driving licence's issue date, as the client read it off the card: not in the future, and
    before its expiry date."""
    evidence = {
        "issued_on": issued_on.isoformat(),
        "expires_on": expires_on.isoformat() if expires_on else None,
        "today": today.isoformat(),
    }
    if issued_on > today:
        return CheckResult(
            "issue_date",
            FAIL,
            f"The issue date you gave ({issued_on:%d %b %Y}) is in the future. Check the date printed on the licence.",
            evidence,
        )
    if expires_on and issued_on >= expires_on:
        return CheckResult(
            "issue_date",
            FAIL,
            f"The issue date you gave ({issued_on:%d %b %Y}) is not before the expiry date "
            f"({expires_on:%d %b %Y}). Check the dates printed on the licence.",
            evidence,
        )
    return CheckResult("issue_date", PASS, f"Issued on {issued_on:%d %b %Y}.", evidence)


def _licence_checks(document: Document, today: date) -> list[CheckResult]:
    """A driving licence has no MRZ: its dates are what the client read off it."""
    results = []
    if document.issued_on:
        results.append(licence_dates_check(document.issued_on, expires_on=document.expires_on, today=today))
    if document.expires_on:
        results.append(expiry_check(document.expires_on, today=today))
    elif document.side != Side.BACK:
        results.append(
            CheckResult(
                "expiry", WARN, "No expiry date was given: staff to read the licence and compare it with the profile."
            )
        )
    return results


def _identity_checks(document: Document, today: date) -> tuple[list[CheckResult], dict]:
    if document.mrz_text.strip():
        results, updates = mrz_checks(document.mrz_text, client=document.client, kind=document.kind, today=today)
        if document.kind == Kind.DRIVING_LICENCE and document.issued_on:
            expires_on = updates.get("expires_on") or document.expires_on
            results.append(licence_dates_check(document.issued_on, expires_on=expires_on, today=today))
        return results, updates
    if document.kind == Kind.DRIVING_LICENCE:
        return _licence_checks(document, today), {}
    if document.kind == Kind.ID_CARD and document.side == Side.FRONT:
        return [], {}  # an identity card's MRZ is on the back, checked with that side
    return [CheckResult("mrz", WARN, "No MRZ was given: staff to compare the document with the profile.")], {}


def _kind_checks(document: Document, today: date) -> tuple[list[CheckResult], dict]:
    if document.kind in Document.IDENTITY_KINDS:
        return _identity_checks(document, today)
    if document.kind == Kind.PROOF_OF_ADDRESS:
        results = address_checks(
            issued_on=document.issued_on,
            text=document.mrz_text,
            client=document.client,
            max_age_months=KycSettings.current().address_max_age_months,
            today=today,
        )
        return results, {}
    return [
        CheckResult("face", WARN, "A person (or the verification vendor) compares the face with the identity document.")
    ], {}


def document_checks(document: Document, data: bytes, *, today: date) -> tuple[list[CheckResult], dict]:
    results = [file_check(document, data)]
    if results[0].outcome == FAIL:
        return results, {}
    try:
        more, updates = _kind_checks(document, today)
    except Exception:  # a bug in one check must not leave the document stuck: a person looks instead
        logger.exception("checks of document %s failed", document.pk)
        return [*results, CheckResult("checks", WARN, "The automatic checks could not finish: staff to check.")], {}
    return [*results, *more], updates


def status_resolve(results: list[CheckResult]) -> tuple[str, str]:
    """The document status that follows from its checks, with the reason the client reads: what
    failed, in plain words; a document that needs a person only says so (the checks keep the detail
    for staff)."""
    failed = [r.summary for r in results if r.outcome == FAIL]
    if failed:
        return Document.Status.FAILED, " ".join(failed)[:300]
    if any(r.outcome == WARN for r in results):
        return Document.Status.NEEDS_REVIEW, NEEDS_REVIEW_REASON
    return Document.Status.PASSED, "Every automatic check passed."


__all__ = ["PASS", "WARN", "FAIL", "CheckResult", "document_checks", "status_resolve"]
