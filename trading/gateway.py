"""The trading module's side of payments.trading_gateway: wallet ↔ trading account transfers.

One gateway serves every tenant: it finds the account by login in the current schema and calls
that account's platform. It only claims logins it knows, so other gateways still get theirs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from payments.trading_gateway import InvalidLogin, TradingAccountRef, TradingGatewayError
from trading.connectors.base import BalanceKind
from trading.models import TradingAccount
from trading.platforms import platform_call

logger = logging.getLogger(__name__)

# The deal-history window find_operation searches for an operation id. Recovery decides "not there,
# refund the wallet" from it, so a window too narrow turns a booked operation into money paid twice:
# - LOOKBACK: a platform can be unreachable for weeks (outage, broker migration) and the pending
#   transfer is only settled once it answers again; 30 days covers that. Operation ids are random,
#   so a wider window cannot match someone else's deal.
# - LOOKAHEAD: the platform stamps deals in its own clock. A clock that runs ahead of ours, or a
#   daylight-saving shift our connector has not seen yet, puts a deal booked a second ago hours in
#   the "future"; one day absorbs any time zone or DST error.
OPERATION_LOOKBACK = timedelta(days=30)
OPERATION_LOOKAHEAD = timedelta(days=1)
MT5_COMMENT_LIMIT = 32


def _live_account(login: str) -> TradingAccount | None:
    return (
        TradingAccount.objects.select_related("platform")
        .filter(login=login, is_demo=False, client__isnull=False)
        .first()
    )


def handles(login: str) -> bool:
    """Only logins of the current tenant's live accounts (the public schema has no accounts)."""
    if connection.schema_name == get_public_schema_name():
        return False
    return _live_account(login) is not None


class PlatformGateway:
    def account(self, login: str) -> TradingAccountRef | None:
        account = _live_account(login)
        if account is None or account.status != TradingAccount.Status.ACTIVE:
            return None
        return TradingAccountRef(login=account.login, client_id=account.client_id, currency=account.currency)

    def balance_operation(self, *, login: str, amount: Decimal, currency: str, comment: str, operation_id: str) -> str:
        account = _live_account(login)
        if account is None:
            raise InvalidLogin(f"Trading account {login} is not known.")
        if account.currency != currency:
            raise TradingGatewayError(f"Trading account {login} is in {account.currency}, not {currency}.")
        # MT5 keeps 32 characters and our operation id takes 19 of them: say the direction in the rest
        # (payments' own comment, "Wallet transfer", would be cut to "Wallet trans").
        tagged = f"{operation_id} {'from wallet' if amount > 0 else 'to wallet'}"[:MT5_COMMENT_LIMIT]
        ticket = platform_call(
            account.platform,
            lambda connector: connector.balance_operation(
                login, amount, kind=BalanceKind.BALANCE, comment=tagged, check_margin=True
            ),
        )
        self._refresh_quietly(account)
        return str(ticket)

    def find_operation(self, *, login: str, operation_id: str) -> str | None:
        account = _live_account(login)
        if account is None:
            raise InvalidLogin(f"Trading account {login} is not known.")
        now = timezone.now()
        deals = platform_call(
            account.platform,
            lambda connector: connector.deals(now - OPERATION_LOOKBACK, now + OPERATION_LOOKAHEAD, [login]),
        )
        for deal in deals:
            if deal.action == "balance" and deal.comment.startswith(operation_id):
                return str(deal.ticket)
        return None

    @staticmethod
    def _refresh_quietly(account: TradingAccount) -> None:
        from trading.services import account_state_refresh

        try:
            account_state_refresh(account)
        except Exception:  # the transfer is done; the state refresh beat will catch up
            logger.warning("state refresh of %s after a balance operation failed", account.login, exc_info=True)
