"""Writes on trading accounts: open, change leverage or group, enable/disable, refresh state.

Each call goes to the platform first, then records what the platform accepted, so our mirror
never claims something the server does not have.

Opening an account holds two locks until it commits: a per-client advisory lock (so two opens for
one client, even on the live and the demo platform, cannot both pass max_accounts_per_client) and
the platform row (so two opens cannot pick the same login). Locks are always taken in that order.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Max, Q
from django.db.models.functions import Cast
from django.utils import timezone

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from trading.connectors import PlatformSwitchedOff
from trading.connectors.base import (
    AccountState,
    BalanceKind,
    LoginTaken,
    NewAccount,
    PlatformUnavailable,
    TradingGatewayError,
)
from trading.models import Platform, TradingAccount, TradingPolicy
from trading.platforms import health_set, platform_call

logger = logging.getLogger(__name__)

ACCOUNT_FIELDS = ["leverage", "group", "status"]
# Logins tried per open when the platform already has the one we picked (see _platform_account_open).
LOGIN_ATTEMPTS = 20


def _platform_for(is_demo: bool) -> Platform:
    environment = Platform.Environment.DEMO if is_demo else Platform.Environment.LIVE
    platform = Platform.objects.filter(is_active=True, environment=environment).order_by("pk").first()
    if platform is None:
        kind = "demo" if is_demo else "live"
        raise ApplicationError(f"No {kind} trading platform is connected yet.", code="trading_unavailable")
    return platform


def _next_login(platform: Platform) -> str:
    """The next free login in the platform's range; the caller holds the platform row lock."""
    in_range = TradingAccount.objects.filter(platform=platform, login__regex=r"^[0-9]+$").annotate(
        number=Cast("login", BigIntegerField())
    )
    highest = in_range.filter(number__gte=platform.login_range_start, number__lte=platform.login_range_end).aggregate(
        top=Max("number")
    )["top"]
    login = max(highest or 0, platform.login_range_start - 1) + 1
    if login > platform.login_range_end:
        raise ApplicationError(
            f"{platform.name}: every login from {platform.login_range_start} to {platform.login_range_end} is used. "
            "Connect another platform range in /ops/trading/.",
            code="trading_logins_taken",
        )
    return str(login)


def _policy_check(policy: TradingPolicy, client, *, leverage: int, currency: str) -> None:
    if leverage not in policy.leverage_choices:
        choices = ", ".join(f"1:{choice}" for choice in sorted(policy.leverage_choices))
        raise ApplicationError(
            f"Leverage 1:{leverage} is not offered; choose {choices}.", fields={"leverage": ["Not offered."]}
        )
    if currency not in policy.account_currencies:
        raise ApplicationError(
            f"Accounts in {currency} are not offered; choose {', '.join(policy.account_currencies)}.",
            fields={"currency": ["Not offered."]},
        )


def _client_lock(client) -> None:
    """Serialise account opens of one client until the transaction ends (see the module docstring).

    An advisory lock rather than the crm.Client row: editing the client is not held up by a slow
    platform. Keyed by schema too, as client ids repeat across tenants."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), %s)",
            [f"trading.account_open:{connection.schema_name}", client.pk],
        )


def _account_limit_check(policy: TradingPolicy, client) -> None:
    """Under the client lock: accounts committed by a concurrent open are counted."""
    if client.trading_accounts.count() >= policy.max_accounts_per_client:
        raise ApplicationError(f"A client may hold at most {policy.max_accounts_per_client} trading accounts.")


def account_open(*, client, is_demo: bool, leverage: int, currency: str, actor) -> TradingAccount:
    """Open a live or demo account for a client on the tenant's platform; demo accounts get play money.

    The returned instance carries `initial_password`: the trader's main password where the platform
    has one (MT5), else "". It exists only on this object, to be shown to the trader once; it is not
    stored, logged, audited or published anywhere.
    """
    policy = TradingPolicy.current()
    _policy_check(policy, client, leverage=leverage, currency=currency)
    platform = _platform_for(is_demo)
    password = secrets.token_urlsafe(12) + "A1!" if platform.kind == Platform.Kind.MT5 else ""
    try:
        account = _account_create(
            platform,
            policy,
            client=client,
            is_demo=is_demo,
            leverage=leverage,
            currency=currency,
            password=password,
            actor=actor,
        )
    except (PlatformUnavailable, PlatformSwitchedOff) as down:
        health_set(platform, Platform.Health.ERROR, down.message)  # the transaction took the first record with it
        raise
    account.initial_password = password
    # The account exists from here on: a platform that stops answering now costs the demo's play money
    # or fresh figures (the state refresh beat brings those), never the account itself.
    try:
        if is_demo and policy.demo_balance > 0:
            platform_call(
                platform,
                lambda connector: connector.balance_operation(
                    account.login,
                    Decimal(policy.demo_balance),
                    kind=BalanceKind.BALANCE,
                    comment="Demo funds",
                    check_margin=False,
                ),
            )
        account_state_refresh(account)
    except (PlatformUnavailable, TradingGatewayError):
        logger.warning("account %s is open; its first operations on the platform failed", account.login, exc_info=True)
    return account


def _account_create(
    platform: Platform,
    policy: TradingPolicy,
    *,
    client,
    is_demo: bool,
    leverage: int,
    currency: str,
    password: str,
    actor,
) -> TradingAccount:
    # The locks make the limit and login allocation safe; the platform call sits inside them so that
    # a refused or failed open leaves no row behind.
    with transaction.atomic():
        _client_lock(client)
        platform = Platform.objects.select_for_update().get(pk=platform.pk)
        _account_limit_check(policy, client)
        login = _platform_account_open(
            platform,
            NewAccount(
                login=_next_login(platform),
                name=str(client),
                group=platform.default_group,
                leverage=leverage,
                currency=currency,
                password=password,
            ),
        )
        account = TradingAccount.objects.create(
            login=login,
            platform=platform,
            client=client,
            is_demo=is_demo,
            group=platform.default_group,
            leverage=leverage,
            currency=currency,
            created_by=actor,
        )
        audit_log(actor=actor, action="trading.account_open", obj=account, after=snapshot(account, ACCOUNT_FIELDS))
        event_publish(
            "trading.account_opened",
            {"account_id": account.pk, "client_id": client.pk, "login": login, "is_demo": is_demo},
        )
    return account


def _platform_account_open(platform: Platform, new: NewAccount) -> str:
    """Open `new` on the platform; when its login is already there, try the following ones.

    Our logins come from our mirror, which cannot see an account the platform made but whose answer
    we lost, or one another manager made in our range; without moving on, every later open would
    pick that login again and fail for ever. Skipped logins are left alone (and logged): they are
    someone's account, or ours to reconcile."""
    first = new.login
    for attempt in range(LOGIN_ATTEMPTS):
        if attempt:
            new = replace(new, login=str(int(new.login) + 1))
        try:
            return platform_call(platform, lambda connector, new=new: connector.account_open(new))
        except LoginTaken:
            logger.warning("platform %s already has login %s; trying the next one", platform.code, new.login)
            if not new.login.isdigit():
                break
    raise ApplicationError(
        f"Cannot open an account on {platform.name}: logins {first} to {new.login} are all already taken "
        "on the platform, though not by accounts known here. Check the platform's login range and the "
        "accounts it holds.",
        code="trading_logins_taken",
    )


def _account_change(
    account: TradingAccount, *, actor, action: str, note: dict | None = None, **changes
) -> TradingAccount:
    """Change the account on the platform, then here; `note` goes into the audit record's `after`."""
    before = snapshot(account, ACCOUNT_FIELDS)
    platform_changes = {
        "leverage": changes.get("leverage"),
        "group": changes.get("group"),
        "enabled": None if "status" not in changes else changes["status"] == TradingAccount.Status.ACTIVE,
    }
    platform_call(account.platform, lambda connector: connector.account_update(account.login, **platform_changes))
    with transaction.atomic():
        for field, value in changes.items():
            setattr(account, field, value)
        account.save(update_fields=list(changes))
        after = {**snapshot(account, ACCOUNT_FIELDS), **(note or {})}
        audit_log(actor=actor, action=action, obj=account, before=before, after=after)
        event_publish(action, {"account_id": account.pk, "login": account.login, **changes})
    return account


def account_leverage_change(account: TradingAccount, *, leverage: int, actor) -> TradingAccount:
    if not 1 <= leverage <= 3000:
        raise ApplicationError("Leverage is between 1:1 and 1:3000.", fields={"leverage": ["Out of range."]})
    if leverage == account.leverage:
        return account
    return _account_change(account, actor=actor, action="trading.leverage_changed", leverage=leverage)


def account_group_change(account: TradingAccount, *, group: str, actor) -> TradingAccount:
    group = group.strip()
    if not group:
        raise ApplicationError("A group name is required.", fields={"group": ["Required."]})
    return _account_change(account, actor=actor, action="trading.group_changed", group=group)


def account_status_set(account: TradingAccount, *, enabled: bool, actor, reason: str = "") -> TradingAccount:
    """Enable or disable; the reason (if any) is kept in the audit record."""
    status = TradingAccount.Status.ACTIVE if enabled else TradingAccount.Status.DISABLED
    if status == account.status:
        return account
    action = "trading.account_enabled" if enabled else "trading.account_disabled"
    note = {"reason": reason} if reason else None
    return _account_change(account, actor=actor, action=action, note=note, status=status)


def account_state_store(account: TradingAccount, state: AccountState, *, at: datetime | None = None) -> bool:
    """Record the platform's figures for the account (balance, equity, margin...) as of `at` (default now).

    Figures older than those already stored are ignored (a replayed push, a slow pull), in the same
    UPDATE, so concurrent writers of one account cannot interleave; returns whether they were stored.
    """
    at = at or timezone.now()
    newer = Q(state_at__isnull=True) | Q(state_at__lt=at + timedelta(seconds=1))  # the same second counts
    stored = bool(
        TradingAccount.objects.filter(pk=account.pk)
        .filter(newer)
        .update(
            balance=state.balance,
            credit=state.credit,
            equity=state.equity,
            margin=state.margin,
            margin_free=state.margin_free,
            margin_level=state.margin_level,
            state_at=at,
        )
    )
    account.refresh_from_db(fields=["balance", "credit", "equity", "margin", "margin_free", "margin_level", "state_at"])
    return stored


def account_state_refresh(account: TradingAccount) -> TradingAccount:
    state = platform_call(account.platform, lambda connector: connector.account_state(account.login))
    account_state_store(account, state)
    return account
