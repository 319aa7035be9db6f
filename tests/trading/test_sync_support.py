"""Helpers shared by the sync, push and bulk tests (no tests here)."""

from __future__ import annotations

from decimal import Decimal

from payments import ledger
from payments.models import LedgerAccount
from payments.wallets.trading import trading_transfer_send, transfer_to_trading
from tests.trading.support import wallet_fund
from trading import services
from trading.models import Platform, TradingAccount


def live() -> Platform:
    return Platform.objects.get(code="sim-live")


def demo() -> Platform:
    return Platform.objects.get(code="sim-demo")


def account_funded(client, actor, amount: str = "200", currency: str = "USD") -> TradingAccount:
    """A live account of the client with `amount` moved to it from the wallet through payments."""
    account = services.account_open(client=client, is_demo=False, leverage=100, currency=currency, actor=actor)
    if Decimal(amount):
        wallet_fund(client, amount, currency, reference=f"fund-{account.login}")
        transfer = transfer_to_trading(
            client=client, currency=currency, login=account.login, amount=Decimal(amount), actor=actor
        )
        trading_transfer_send(transfer.pk)  # what the on_commit task does
    return account


def trading_funds(client, currency: str = "USD") -> Decimal:
    account = ledger.trading_funds_for(client, currency)
    account.refresh_from_db()
    return account.balance


def trading_results(currency: str = "USD") -> Decimal:
    account = ledger.system_account(LedgerAccount.Kind.TRADING_RESULT, currency)
    account.refresh_from_db()
    return account.balance
