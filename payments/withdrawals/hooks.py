"""Checks other modules add to every withdrawal request (the risk module's AML and fraud rules).

A check is `fn(withdrawal) -> str | None`: a reason sends the withdrawal to
manual review, and staff read the reason in the ops queue; None lets it pass.
Checks run inside the request's transaction, after the funds are held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from payments.models import Withdrawal

logger = logging.getLogger(__name__)

WithdrawalCheck = Callable[[Withdrawal], str | None]
_CHECKS: list[WithdrawalCheck] = []


def register_withdrawal_check(check: WithdrawalCheck) -> WithdrawalCheck:
    """Add a check (usable as a decorator); registering the same function twice keeps one."""
    if check not in _CHECKS:
        _CHECKS.append(check)
    return check


def unregister_withdrawal_check(check: WithdrawalCheck) -> None:
    if check in _CHECKS:
        _CHECKS.remove(check)


def withdrawal_check_reasons(withdrawal: Withdrawal) -> list[str]:
    """Every registered check's reason. A check that crashes flags the withdrawal rather than passing it."""
    reasons = []
    for check in list(_CHECKS):
        name = getattr(check, "__qualname__", repr(check))
        try:
            with transaction.atomic():  # a savepoint: a check's database error leaves the request usable
                reason = check(withdrawal)
        except Exception:  # a broken risk rule must hold the money, not wave it through
            logger.exception("withdrawal check %s failed on %s", name, withdrawal.public_id)
            reason = f"Check {name} failed to run; review by hand."
        if reason:
            reasons.append(str(reason)[:300])
    return reasons
