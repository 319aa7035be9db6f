"""Whether an account's mirrored balance/equity/margin is too old to show without a warning."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from trading.models import TradingAccount, TradingPolicy


def account_is_stale(
    account: TradingAccount, now: datetime | None = None, *, policy: TradingPolicy | None = None
) -> bool:
    """True when the platform has not reported the account's state within the tenant's stale limit.

    Pass `policy` when checking many accounts, so the policy row is read once.
    """
    if account.state_at is None:
        return True
    limit = timedelta(seconds=(policy or TradingPolicy.current()).state_stale_after_seconds)
    return (now or timezone.now()) - account.state_at > limit
