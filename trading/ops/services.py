"""Staff writes of /ops/trading/ and the API: platform connections, sync problems, instruments, policy,
and the staff-side checks around account changes.

Account changes (leverage, group, status) live in trading.services: they go to the platform first.
The account functions here add what staff must answer first (a leverage the broker offers, a
confirmation when the margin level would drop, a reason to disable). Everything else here is local
configuration; each change is one transaction with its audit record, and secrets are never written to
the audit trail (only that they changed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField
from django.db.models.functions import Cast
from django.utils import timezone

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.money import FIAT_CURRENCIES
from trading import selectors, services
from trading.models import Platform, Position, Symbol, SymbolAlias, SyncProblem, TradingAccount, TradingPolicy

PLATFORM_FIELDS = [
    "code",
    "name",
    "kind",
    "environment",
    "server",
    "manager_login",
    "default_group",
    "login_range_start",
    "is_active",
]
SYMBOL_FIELDS = [
    "description",
    "calc_mode",
    "contract_size",
    "digits",
    "tick_size",
    "tick_value",
    "base_currency",
    "profit_currency",
    "margin_currency",
    "margin_rate",
    "initial_margin",
    "swap_mode",
    "swap_long",
    "swap_short",
    "triple_swap_day",
    "is_active",
]
POLICY_FIELDS = [
    "leverage_choices",
    "default_leverage",
    "account_currencies",
    "demo_balance",
    "max_accounts_per_client",
    "state_stale_after_seconds",
]
MAX_LEVERAGE = 3000
# Lowering leverage below this projected margin level needs an explicit confirmation.
MIN_MARGIN_LEVEL = Decimal(100)
ALIAS_PATTERN = re.compile(r"[A-Za-z0-9._#!-]{1,40}")
ALIAS_RULE = "Letters, digits and . _ - # ! only, no spaces, at most 40 characters (e.g. EURUSD.pro)."
REASON_MAX = 500


# Accounts ------------------------------------------------------------------------------------------


class LeverageNeedsConfirmation(ApplicationError):
    """Lowering the leverage would put the margin level under MIN_MARGIN_LEVEL: staff must confirm."""

    code = "confirmation_required"

    def __init__(self, message: str, projection: selectors.LeverageProjection):
        super().__init__(message, fields={"confirm": [message]})
        self.projection = projection


def leverage_offered(leverage: int, policy: TradingPolicy | None = None) -> None:
    """Staff choose from the leverages the broker offers (TradingPolicy.leverage_choices) too."""
    policy = policy or TradingPolicy.current()
    if leverage not in policy.leverage_choices:
        choices = ", ".join(f"1:{choice}" for choice in sorted(policy.leverage_choices))
        message = f"1:{leverage} is not offered by this broker; choose one of {choices}."
        raise ApplicationError(message, fields={"leverage": [message]})


def leverage_projection_if_lower(account: TradingAccount, leverage: int) -> selectors.LeverageProjection | None:
    """The projected margin after a change to `leverage` when it is lower and positions are open, else None."""
    if leverage >= account.leverage or not Position.objects.filter(account=account).exists():
        return None
    return selectors.leverage_projection(account, leverage)


def account_leverage_set(
    account: TradingAccount, *, leverage: int, actor, confirm: bool = False
) -> tuple[TradingAccount, selectors.LeverageProjection | None]:
    """Change an account's leverage for staff: an offered leverage only; lowering it under open positions
    so that the projected margin level falls below MIN_MARGIN_LEVEL needs `confirm` (else refused,
    naming the level). Returns the account and the projection (None when not lowered under positions)."""
    leverage_offered(leverage)
    projection = leverage_projection_if_lower(account, leverage)
    if projection is not None and not confirm:
        level = projection.margin_level
        if level is not None and level < MIN_MARGIN_LEVEL:
            raise LeverageNeedsConfirmation(
                f"At 1:{leverage} the margin level of {account.login} would fall to about {level:.2f} % "
                f"(from {_level(account.margin_level)}) with its {projection.open_positions} open "
                f"position{'s' if projection.open_positions != 1 else ''}: positions may be stopped out at "
                "once. Confirm to change it anyway.",
                projection,
            )
    return services.account_leverage_change(account, leverage=leverage, actor=actor), projection


def _level(level: Decimal | None) -> str:
    return "no margin in use" if level is None else f"{level:.2f} %"


def account_status_change(account: TradingAccount, *, enabled: bool, actor, reason: str = "") -> TradingAccount:
    """Enable, or disable with a reason (required; kept in the audit record's `after`)."""
    if enabled:
        return services.account_status_set(account, enabled=True, actor=actor)
    reason = " ".join(reason.split())
    if not reason:
        raise ApplicationError("Say why the account is disabled.", fields={"reason": ["A reason is required."]})
    if len(reason) > REASON_MAX:
        raise ApplicationError(
            f"The reason is at most {REASON_MAX} characters.", fields={"reason": [f"At most {REASON_MAX} characters."]}
        )
    return services.account_status_set(account, enabled=False, actor=actor, reason=reason)


def disable_reason(account: TradingAccount) -> dict | None:
    """The latest disable of a disabled account: {"reason", "by", "at"} (reason "" for ones without)."""
    from brokerage.models import AuditRecord

    if account.status != TradingAccount.Status.DISABLED:
        return None
    record = (
        AuditRecord.objects.filter(
            action="trading.account_disabled", object_type=TradingAccount._meta.label, object_id=str(account.pk)
        )
        .order_by("-id")
        .first()
    )
    if record is None:
        return None
    return {"reason": (record.after or {}).get("reason", ""), "by": record.actor_email, "at": record.occurred_at}


# Platforms -----------------------------------------------------------------------------------------


def _platform_problems(values: dict, *, password_set: bool) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if values["kind"] == Platform.Kind.MT5:
        server = values.get("server", "")
        if not server:
            fields["server"] = ["The MT5 Web API address is required, e.g. https://mt5.example.com:443."]
        elif not server.startswith("https://"):
            fields["server"] = ["Use https://: the manager password must not travel in clear text."]
        if not values.get("manager_login", "").isdigit():
            fields["manager_login"] = ["The manager account's login (digits)."]
        if not password_set:
            fields["manager_password"] = ["Required for a new MT5 connection."]
    return fields


def _login_range_problems(values: dict, platform: Platform | None) -> dict[str, list[str]]:
    """Logins are unique per tenant: a platform's range must not overlap another's or their accounts."""
    start = values["login_range_start"]
    end = start + Platform.LOGIN_RANGE_SIZE - 1
    others = Platform.objects.exclude(pk=platform.pk) if platform else Platform.objects.all()
    for other in others:
        if start <= other.login_range_end and other.login_range_start <= end:
            return {
                "login_range_start": [
                    f"Logins {start}–{end} overlap {other.name}'s range {other.login_range_start}–"
                    f"{other.login_range_end}; ranges are {Platform.LOGIN_RANGE_SIZE:,} logins wide."
                ]
            }
    taken = (
        TradingAccount.objects.filter(login__regex=r"^[0-9]+$")
        .exclude(platform=platform)
        .annotate(number=Cast("login", BigIntegerField()))
        .filter(number__gte=start, number__lte=end)
        .first()
    )
    if taken:
        return {"login_range_start": [f"Login {taken.login} in that range is an account of {taken.platform.name}."]}
    return {}


def _platform_change_problems(platform: Platform, values: dict, manager_password: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if values["environment"] != platform.environment:
        count = TradingAccount.objects.filter(platform=platform).count()
        if count:
            fields["environment"] = [
                f"Cannot change live/demo: {count} account{'s are' if count != 1 else ' is'} on this platform "
                "(their money would stop being booked, or play money would start). Connect a new platform instead."
            ]
    moved = values.get("server", "") != platform.server or values.get("manager_login", "") != platform.manager_login
    if platform.kind == Platform.Kind.MT5 and moved and not manager_password:
        fields["manager_password"] = [
            "Enter the manager password again: the server address or manager login changed, and the stored "
            "password is never sent to a new address."
        ]
    return fields


def platform_save(*, platform: Platform | None, values: dict, manager_password: str, actor) -> Platform:
    """Create (platform None: an MT5 connection) or change a platform connection.

    `manager_password` blank keeps the stored one, unless the server or manager login changes (then it
    must be entered again: the stored one must not be offered to another address). The code names the
    push URL, so it is set once; live/demo is fixed once the platform has accounts.
    """
    creating = platform is None
    values = {**values, "kind": Platform.Kind.MT5 if creating else platform.kind}
    has_password = bool(manager_password) or (not creating and bool(platform.manager_password))
    fields = {**_login_range_problems(values, platform), **_platform_problems(values, password_set=has_password)}
    if not creating:
        fields = {**_platform_change_problems(platform, values, manager_password), **fields}
    if fields:
        raise ApplicationError("The platform was not saved.", fields=fields)
    with transaction.atomic():
        if creating:
            if Platform.objects.filter(code=values["code"]).exists():
                raise ApplicationError("That code is taken.", fields={"code": ["Another platform uses this code."]})
            platform = Platform(push_secret=secrets.token_hex(32))
            before = None
        else:
            platform = Platform.objects.select_for_update().get(pk=platform.pk)
            fields = _platform_change_problems(platform, values, manager_password)  # again, under the lock
            if fields:
                raise ApplicationError("The platform was not saved.", fields=fields)
            before = snapshot(platform, PLATFORM_FIELDS)
        for name in ("code", "name", "kind", "environment", "server", "manager_login", "default_group"):
            if name == "code" and not creating:
                continue
            setattr(platform, name, values[name])
        platform.login_range_start = values["login_range_start"]
        if manager_password:
            platform.manager_password = manager_password
        platform.save()
        after = snapshot(platform, PLATFORM_FIELDS)
        if manager_password:
            after["manager_password"] = "changed"  # noqa: S105 - audit_log masks it: that it changed, never what
        if after != before:
            action = "trading.platform_created" if creating else "trading.platform_updated"
            audit_log(actor=actor, action=action, obj=platform, before=before, after=after)
    return platform


def secret_fingerprint(secret: str) -> str:
    """Names a push secret without revealing it (the rotate form says which secret it replaces)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def platform_secret_rotate(*, platform: Platform, actor, replacing: str) -> str:
    """A new push signing secret: returned once for the bridge's configuration, never shown again.

    `replacing` is the fingerprint of the secret the person saw when they asked: a reload of the answer
    page or a second click would otherwise rotate again and kill the secret just copied.
    """
    secret = secrets.token_hex(32)
    with transaction.atomic():
        platform = Platform.objects.select_for_update().get(pk=platform.pk)
        if not hmac.compare_digest(replacing, secret_fingerprint(platform.push_secret)):
            raise ApplicationError(
                "The push secret was already rotated (a reload or a second click): the one shown then is current. "
                "Rotate again from this page if you did not keep it.",
                code="already_rotated",
            )
        platform.push_secret = secret
        platform.save(update_fields=["push_secret"])
        audit_log(actor=actor, action="trading.platform_secret_rotated", obj=platform, after={"push_secret": "new"})
    return secret


def platform_active_set(*, platform: Platform, is_active: bool, actor) -> Platform:
    """Switch a connection on or off; off stops its sync and new accounts on it (compare-and-swap)."""
    with transaction.atomic():
        changed = Platform.objects.filter(pk=platform.pk, is_active=not is_active).update(is_active=is_active)
        if changed:
            audit_log(
                actor=actor,
                action="trading.platform_activated" if is_active else "trading.platform_deactivated",
                obj=platform,
                before={"is_active": not is_active},
                after={"is_active": is_active},
            )
    platform.is_active = is_active
    return platform


def problem_resolve(*, problem: SyncProblem, actor) -> bool:
    """Mark a sync problem handled; False if someone resolved it first. A new occurrence opens a new one."""
    now = timezone.now()
    with transaction.atomic():
        changed = SyncProblem.objects.filter(pk=problem.pk, resolved_at__isnull=True).update(resolved_at=now)
        if changed:
            audit_log(
                actor=actor,
                action="trading.sync_problem_resolved",
                obj=problem,
                before={"resolved_at": None},
                after={
                    "resolved_at": now.isoformat(),
                    "kind": problem.kind,
                    "subject": problem.subject,
                    "platform": problem.platform_id,
                },
            )
    return bool(changed)


# Symbols -------------------------------------------------------------------------------------------


def _symbol_problems(values: dict) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name in ("contract_size", "tick_size", "tick_value", "margin_rate"):
        if values[name] <= 0:
            fields[name] = ["Must be greater than zero."]
    if values["initial_margin"] < 0:
        fields["initial_margin"] = ["Not below zero."]
    if not 0 <= values["digits"] <= 10:
        fields["digits"] = ["Between 0 and 10."]
    if not 1 <= values["triple_swap_day"] <= 7:
        fields["triple_swap_day"] = ["An ISO weekday: 1 (Monday) to 7 (Sunday)."]
    if values["calc_mode"] == Symbol.CalcMode.FUTURES and values["initial_margin"] <= 0:
        fields["initial_margin"] = ["Futures need the initial margin per lot."]
    return fields


def symbol_update(*, symbol: Symbol, values: dict, actor) -> Symbol:
    """Change an instrument's contract terms (used by margin, profit and swap math from now on)."""
    fields = _symbol_problems({**snapshot_values(symbol), **values})
    if fields:
        raise ApplicationError("The symbol was not saved.", fields=fields)
    with transaction.atomic():
        symbol = Symbol.objects.select_for_update().get(pk=symbol.pk)
        before = snapshot(symbol, SYMBOL_FIELDS)
        for name, value in values.items():
            if name in SYMBOL_FIELDS:
                setattr(symbol, name, value)
        symbol.save()
        symbol.refresh_from_db()
        after = snapshot(symbol, SYMBOL_FIELDS)
        if after != before:
            audit_log(actor=actor, action="trading.symbol_updated", obj=symbol, before=before, after=after)
    return symbol


def snapshot_values(symbol: Symbol) -> dict:
    return {name: getattr(symbol, name) for name in SYMBOL_FIELDS}


def alias_add(*, symbol: Symbol, alias: str, actor) -> SymbolAlias:
    """Another platform name for the instrument; a name means one instrument only."""
    alias = alias.strip()
    if not ALIAS_PATTERN.fullmatch(alias):
        raise ApplicationError(f"{alias!r} cannot be an alias.", fields={"alias": [ALIAS_RULE]})
    taken = SymbolAlias.objects.filter(alias__iexact=alias).select_related("symbol").first()
    if taken is not None:
        raise ApplicationError(
            f"{alias} already names {taken.symbol}.", fields={"alias": [f"Already an alias of {taken.symbol}."]}
        )
    if Symbol.objects.filter(name__iexact=alias).exists():
        raise ApplicationError(f"{alias} is a symbol's own name.", fields={"alias": ["A symbol has this name."]})
    try:
        with transaction.atomic():
            row = SymbolAlias.objects.create(alias=alias, symbol=symbol)
            audit_log(actor=actor, action="trading.symbol_alias_added", obj=symbol, after={"alias": alias})
    except IntegrityError:  # a concurrent add of the same name
        raise ApplicationError(f"{alias} already names an instrument.", fields={"alias": ["Taken."]}) from None
    return row


def alias_remove(*, alias: SymbolAlias, actor) -> None:
    with transaction.atomic():
        symbol = alias.symbol
        deleted, _ = SymbolAlias.objects.filter(pk=alias.pk).delete()
        if deleted:
            audit_log(actor=actor, action="trading.symbol_alias_removed", obj=symbol, before={"alias": alias.alias})


# Policy --------------------------------------------------------------------------------------------


def _policy_problems(values: dict) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    choices = values["leverage_choices"]
    if not choices:
        fields["leverage_choices"] = ["Offer at least one leverage."]
    elif any(not 1 <= choice <= MAX_LEVERAGE for choice in choices):
        fields["leverage_choices"] = [f"Each leverage is between 1 and {MAX_LEVERAGE}."]
    elif values["default_leverage"] not in choices:
        fields["default_leverage"] = ["Must be one of the leverage choices."]
    currencies = values["account_currencies"]
    unknown = sorted(set(currencies) - FIAT_CURRENCIES)
    if not currencies:
        fields["account_currencies"] = ["Offer at least one currency."]
    elif unknown:
        fields["account_currencies"] = [f"Not a currency accounts can hold: {', '.join(unknown)}."]
    if values["demo_balance"] < 0:
        fields["demo_balance"] = ["Not below zero."]
    if values["max_accounts_per_client"] < 1:
        fields["max_accounts_per_client"] = ["At least one."]
    if values["state_stale_after_seconds"] < 10:
        fields["state_stale_after_seconds"] = ["At least 10 seconds (the state is refreshed every minute)."]
    return fields


def trading_policy_update(
    *,
    leverage_choices: list[int],
    default_leverage: int,
    account_currencies: list[str],
    demo_balance: Decimal,
    max_accounts_per_client: int,
    state_stale_after_seconds: int,
    actor,
) -> TradingPolicy:
    """Change the tenant's trading rules, audited. Existing accounts keep their leverage and currency."""
    values = {
        "leverage_choices": sorted(set(leverage_choices)),
        "default_leverage": default_leverage,
        "account_currencies": list(dict.fromkeys(code.upper() for code in account_currencies)),
        "demo_balance": demo_balance,
        "max_accounts_per_client": max_accounts_per_client,
        "state_stale_after_seconds": state_stale_after_seconds,
    }
    fields = _policy_problems(values)
    if fields:
        raise ApplicationError("The trading policy was not saved.", fields=fields)
    with transaction.atomic():
        policy = TradingPolicy.objects.select_for_update().get(pk=TradingPolicy.current().pk)
        before = snapshot(policy, POLICY_FIELDS)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.save()
        policy.refresh_from_db()
        after = snapshot(policy, POLICY_FIELDS)
        if after != before:
            audit_log(actor=actor, action="trading.policy_updated", obj=policy, before=before, after=after)
    return policy
