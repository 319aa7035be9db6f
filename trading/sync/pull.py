"""The pull safety net under the push path: deals since each platform's cursor, open positions, states.

`platform_sync` asks the platform for deals from `Platform.deals_synced_to - OVERLAP` up to now, in
windows of at most WINDOW, and moves the cursor in the same database transaction that stores a
window's deals: if anything fails the cursor stays and the next run asks again. Deals already stored
(pushed, or read by the previous overlap) are skipped by ticket, so the overlap costs nothing but a
re-read; it covers deals a platform writes a little after their time and a clock skew up to OVERLAP.

Each run then catches the ledger up (database only, so also while the platform is down): deals
stored without an account get it once their login exists here (`deals_attach`), and accounts with
pending deals get them booked once they fit (`pending_deals_book`, e.g. after a wallet transfer).

A platform that does not answer gets health "error" and an open SyncProblem(connection); the first
run that works again resolves it. Two runs never sync one platform at once: a PostgreSQL advisory
lock per (schema, platform) is taken without waiting, and a run that finds it taken does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from payments.trading_gateway import InvalidLogin, PlatformUnavailable, TradingGatewayError
from trading.models import Platform, SyncProblem, TradingAccount
from trading.platforms import health_set, platform_call, platform_check
from trading.services import account_state_store
from trading.sync.ingest import deals_attach, deals_ingest, pending_deals_book, positions_store
from trading.sync.problems import problem_raise, problem_resolve

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=2)
# One request for a day of deals at most; a platform back after a long outage catches up window by
# window, MAX_WINDOWS per run, and the beat's next runs take the rest.
WINDOW = timedelta(days=1)
MAX_WINDOWS = 7
# A platform that did not answer is pulled again by beat after this long (not every 5 s).
DOWN_RETRY = timedelta(seconds=60)
Kind = SyncProblem.Kind


@dataclass(frozen=True)
class SyncResult:
    platform: str
    inserted: int = 0
    duplicates: int = 0
    positions: int | None = None
    cursor: datetime | None = None
    error: str = ""
    skipped: bool = False  # another run holds the platform


@contextmanager
def platform_lock(platform: Platform) -> Iterator[bool]:
    """Try to take the platform's sync lock for this session; yields whether we hold it."""
    key = f"trading-sync:{connection.schema_name}:{platform.pk}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def _unreachable(platform: Platform, error: Exception) -> str:
    message = (getattr(error, "message", "") or str(error)).rstrip(".")
    health_set(platform, Platform.Health.ERROR, message)
    problem_raise(
        platform,
        Kind.CONNECTION,
        platform.code,
        f"{platform.name} did not answer the sync: {message}. Deals are read again from the last synced time "
        f"once it answers; nothing is lost.",
    )
    return message


def platform_sync(platform: Platform, *, now: datetime | None = None) -> SyncResult:
    """Pull deals since the cursor and replace the open positions; see the module docstring."""
    with platform_lock(platform) as held:
        if not held:
            return SyncResult(platform=platform.code, skipped=True)
        result = _sync(platform, now or timezone.now())
        deals_attach(platform)
        pending_deals_book(platform)
        return result


def _sync(platform: Platform, now: datetime) -> SyncResult:
    platform.refresh_from_db(fields=["deals_synced_to"])
    cursor = platform.deals_synced_to or platform.created_at
    inserted = duplicates = 0
    try:
        for _ in range(MAX_WINDOWS):
            start = cursor - OVERLAP
            end = min(now, start + WINDOW)
            deals = platform_call(platform, lambda connector, start=start, end=end: connector.deals(start, end))
            with transaction.atomic():
                result = deals_ingest(platform, deals)
                # Never backwards: a slower run that started earlier must not undo a newer cursor.
                Platform.objects.filter(pk=platform.pk).filter(
                    Q(deals_synced_to__isnull=True) | Q(deals_synced_to__lt=end)
                ).update(deals_synced_to=end)
            inserted, duplicates, cursor = inserted + result.inserted, duplicates + result.duplicates, end
            if end >= now:
                break
        positions = platform_call(platform, lambda connector: connector.positions())
        stored = positions_store(platform, positions, None)
    except (PlatformUnavailable, TradingGatewayError) as error:
        message = _unreachable(platform, error)
        logger.warning("sync of %s stopped at %s: %s", platform.code, cursor, message)
        return SyncResult(platform.code, inserted, duplicates, None, cursor, error=message)
    Platform.objects.filter(pk=platform.pk).update(last_sync_at=timezone.now())
    problem_resolve(platform, Kind.CONNECTION)
    return SyncResult(platform.code, inserted, duplicates, stored, cursor)


def _resting(platform: Platform, now: datetime) -> bool:
    """A platform that failed is asked again after DOWN_RETRY, not every 5 s ("Sync now" still asks)."""
    return (
        platform.health == Platform.Health.ERROR
        and platform.health_checked_at is not None
        and now - platform.health_checked_at < DOWN_RETRY
    )


def platforms_sync_all() -> list[SyncResult]:
    """Every active platform of the current tenant, one after the other; one failing stops none."""
    results = []
    now = timezone.now()
    for platform in Platform.objects.filter(is_active=True).order_by("pk"):
        if _resting(platform, now):
            results.append(SyncResult(platform.code, skipped=True))
            continue
        try:
            results.append(platform_sync(platform))
        except Exception:
            # A bug or a database error on one platform: log it, sync the others.
            logger.exception("sync of platform %s failed", platform.code)
            results.append(SyncResult(platform.code, error="internal error, see the log"))
    return results


def account_states_refresh_all() -> int:
    """Ping every active platform (health) and store the state of each of its active accounts.

    A platform that does not answer is skipped (its accounts keep their last state, which turns stale);
    returns how many states were stored.
    """
    stored = 0
    for platform in Platform.objects.filter(is_active=True).order_by("pk"):
        if not platform_check(platform):
            _unreachable(platform, PlatformUnavailable(platform.health_message or "no answer"))
            continue
        problem_resolve(platform, Kind.CONNECTION)
        accounts = TradingAccount.objects.filter(platform=platform, status=TradingAccount.Status.ACTIVE)
        for account in accounts.order_by("pk").iterator():
            try:
                state = platform_call(platform, lambda connector, login=account.login: connector.account_state(login))
            except InvalidLogin:
                problem_raise(
                    platform,
                    Kind.UNKNOWN_LOGIN,
                    account.login,
                    f"Account {account.login} is no longer on {platform.name}; disable it here if it was removed.",
                )
                continue
            except PlatformUnavailable as error:
                _unreachable(platform, error)
                break
            except TradingGatewayError as error:
                logger.warning("state of %s refused: %s", account.login, error)
                continue
            account_state_store(account, state)
            stored += 1
    return stored
