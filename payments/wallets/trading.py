"""Money between a client's wallet and their trading accounts: the ledger side and the platform call.

Order of work, so that nothing is lost or doubled whatever fails:
1. One database transaction: the TradingTransfer row (pending) and the ledger
   posting (wallet ↔ client trading funds). Money going out of a trading account
   is credited to the wallet but held there until the platform has paid it out.
2. After that commit: claim the transfer for sending (`sent_at`, committed), then
   under a row lock call the platform once. Accepted: completed. Refused:
   the posting is reversed and the transfer is reversed with the platform's reason.
   No answer (timeout, crash): the transfer stays pending.
3. `trading_transfers_recover` (beat) takes pending transfers older than a few
   minutes that nobody is working on (skip locked): never sent → send now; sent →
   ask the platform for our operation id: found → completed, not found → reversed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import quantize
from payments import ledger
from payments.ledger import Line
from payments.models import LedgerTransaction, TradingTransfer
from payments.trading_gateway import TradingGateway, TradingGatewayError, gateway_for

logger = logging.getLogger(__name__)

Status = TradingTransfer.Status
Direction = TradingTransfer.Direction
# A pending transfer younger than this may still be on its way: recovery leaves it alone.
RECOVER_AFTER = timedelta(minutes=2)


def _account_check(gateway: TradingGateway, *, login: str, client, currency: str) -> None:
    account = gateway.account(login)
    if account is None or account.client_id != client.pk:
        raise ApplicationError(
            f"Trading account {login} is not one of this client's accounts.", fields={"login": ["Unknown account."]}
        )
    if account.currency != currency:
        raise ApplicationError(
            f"Trading account {login} is in {account.currency}, not {currency}.",
            fields={"currency": [f"The account's currency is {account.currency}."]},
        )


def _transfer_start(*, client, currency: str, login: str, amount: Decimal, actor, direction: str) -> TradingTransfer:
    ledger.amount_clean(amount, currency)
    login = str(login).strip()
    gateway = gateway_for(login)
    _account_check(gateway, login=login, client=client, currency=currency)
    wallet, trading = ledger.wallet_for(client, currency), ledger.trading_funds_for(client, currency)
    to_account = direction == Direction.TO_ACCOUNT
    with transaction.atomic():
        transfer = TradingTransfer.objects.create(
            client=client, account_login=login, direction=direction, currency=currency, amount=amount, created_by=actor
        )
        reference = f"trading_transfer:{transfer.public_id}"
        source, target = (wallet, trading) if to_account else (trading, wallet)
        try:
            transfer.transaction = ledger.transaction_post(
                kind=LedgerTransaction.Kind.TRADING_TRANSFER,
                reference=reference,
                lines=[Line(source, -amount), Line(target, amount)],
                description=f"{'To' if to_account else 'From'} trading account {login}",
                client=client,
                actor=actor,
                metadata={"login": login, "transfer": str(transfer.public_id)},
            )
        except ledger.InsufficientFunds:
            if to_account:
                raise
            # The client's trading funds in the ledger are short, not their wallet: other transfers out
            # of their accounts are still on their way, or a loss has not reached the books yet.
            trading.refresh_from_db(fields=["balance", "held"])
            available = f"{quantize(max(trading.available, Decimal(0)), currency):,f} {currency}"
            raise ApplicationError(
                f"Only {available} can be moved out of your trading accounts in {currency} right now: other "
                "transfers to your wallet are still on their way. Try again in a minute.",
                fields={"amount": ["More than can be moved out right now."]},
                code="insufficient_funds",
            ) from None
        if not to_account:
            transfer.hold = ledger.hold_place(
                wallet, amount, reference=reference, description=f"Until trading account {login} has paid out"
            )
        transfer.save(update_fields=["transaction", "hold"])
        audit_log(
            actor=actor,
            action="payments.trading_transfer.requested",
            obj=transfer,
            after={"client": client.pk, "login": login, "direction": direction, "amount": f"{amount:f} {currency}"},
        )
        transaction.on_commit(lambda: _send_later(transfer.pk))
    transfer.refresh_from_db()
    return transfer


def _send_later(transfer_id: int) -> None:
    from payments.wallets.tasks import trading_transfer_send_task

    trading_transfer_send_task.delay(transfer_id)


def transfer_to_trading(*, client, currency: str, login: str, amount: Decimal, actor) -> TradingTransfer:
    """Move money from the client's wallet to one of their trading accounts."""
    return _transfer_start(
        client=client, currency=currency, login=login, amount=amount, actor=actor, direction=Direction.TO_ACCOUNT
    )


def transfer_from_trading(*, client, currency: str, login: str, amount: Decimal, actor) -> TradingTransfer:
    """Move money from one of the client's trading accounts back to their wallet."""
    return _transfer_start(
        client=client, currency=currency, login=login, amount=amount, actor=actor, direction=Direction.TO_WALLET
    )


# Settling ----------------------------------------------------------------------------------------


def _move(transfer: TradingTransfer, new: str, **fields) -> None:
    """Compare-and-swap the status along TradingTransfer.TRANSITIONS."""
    if new not in TradingTransfer.TRANSITIONS[transfer.status]:
        raise ValueError(f"a {transfer.status} transfer cannot become {new}")
    moved = TradingTransfer.objects.filter(pk=transfer.pk, status=transfer.status).update(
        status=new, updated_at=timezone.now(), **fields
    )
    if moved != 1:
        raise RuntimeError(f"trading transfer {transfer.pk} changed under a lock")
    transfer.status = new
    for name, value in fields.items():
        setattr(transfer, name, value)


def _complete(transfer: TradingTransfer, platform_reference: str) -> None:
    if transfer.hold_id:
        ledger.hold_release(transfer.hold)
    _move(transfer, Status.COMPLETED, platform_reference=platform_reference[:120])
    audit_log(
        actor=None,
        action="payments.trading_transfer.completed",
        obj=transfer,
        after={"platform_reference": platform_reference},
    )
    event_publish(
        "payments.trading_transfer.completed",
        {
            "transfer": str(transfer.public_id),
            "client_id": transfer.client_id,
            "login": transfer.account_login,
            "direction": transfer.direction,
            "currency": transfer.currency,
            "amount": str(transfer.amount),
            "platform_reference": platform_reference,
        },
    )


def transfer_refusal_text(reason: str) -> str:
    """Why a transfer was not made, in a client's words: the platform's own message (retcodes,
    margin figures) stays in failure_reason and the audit log for staff."""
    if "10019" in reason or "No money" in reason:
        return "not enough free margin"
    if "no record" in reason:
        return "the trading platform did not confirm it"
    if "13 Not found" in reason or "not known" in reason:
        return "the trading platform does not know the account"
    return "refused by the trading platform"


def _reverse(transfer: TradingTransfer, reason: str) -> None:
    if transfer.hold_id:
        ledger.hold_release(transfer.hold)  # first, or the reversal would find the wallet's funds held
    route = "to" if transfer.direction == Direction.TO_ACCOUNT else "from"
    description = f"Transfer {route} trading account {transfer.account_login} not made: {transfer_refusal_text(reason)}"
    ledger.transaction_reverse(transfer.transaction, reason=reason, description=description)
    _move(transfer, Status.REVERSED, failure_reason=reason[:300])
    audit_log(actor=None, action="payments.trading_transfer.reversed", obj=transfer, after={"reason": reason})
    event_publish(
        "payments.trading_transfer.reversed",
        {"transfer": str(transfer.public_id), "client_id": transfer.client_id, "reason": reason},
    )


def _locked_pending(transfer_id: int, *, skip_locked: bool = False) -> TradingTransfer | None:
    rows = TradingTransfer.objects.select_for_update(skip_locked=skip_locked, of=("self",))
    return rows.select_related("transaction", "hold").filter(pk=transfer_id, status=Status.PENDING).first()


def trading_transfer_send(transfer_id: int) -> TradingTransfer:
    """Call the platform for a pending transfer, at most once in its life."""
    transfer = TradingTransfer.objects.get(pk=transfer_id)
    if transfer.status != Status.PENDING:
        return transfer
    gateway = gateway_for(transfer.account_login)
    # Committed before the call (this runs after the request's commit): if we die during
    # the call, recovery knows the operation may exist and looks for it instead of resending.
    claimed = TradingTransfer.objects.filter(pk=transfer.pk, status=Status.PENDING, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return TradingTransfer.objects.get(pk=transfer_id)
    with transaction.atomic():
        transfer = _locked_pending(transfer_id)
        if transfer is None:  # recovery settled it between the claim and the lock
            return TradingTransfer.objects.get(pk=transfer_id)
        signed = transfer.amount if transfer.direction == Direction.TO_ACCOUNT else -transfer.amount
        try:
            platform_reference = gateway.balance_operation(
                login=transfer.account_login,
                amount=signed,
                currency=transfer.currency,
                comment="Wallet transfer",
                operation_id=transfer.operation_id,
            )
        except TradingGatewayError as refusal:
            _reverse(transfer, f"The platform refused: {refusal.message}")
        except Exception:
            # Timeout, lost connection, unexpected answer: it may or may not have happened there.
            logger.warning("trading transfer %s: no answer from the platform; recovery will settle it", transfer.pk)
        else:
            _complete(transfer, platform_reference)
    return TradingTransfer.objects.get(pk=transfer_id)


def trading_transfer_recover(transfer_id: int) -> TradingTransfer | None:
    """Settle one pending transfer nobody is working on; None if it is busy or already settled."""
    with transaction.atomic():
        transfer = _locked_pending(transfer_id, skip_locked=True)
        if transfer is None:
            return None
        if transfer.sent_at is not None:
            gateway = gateway_for(transfer.account_login)
            try:
                platform_reference = gateway.find_operation(
                    login=transfer.account_login, operation_id=transfer.operation_id
                )
            except Exception:
                logger.warning("trading transfer %s: platform unreachable, will look again", transfer.pk)
                return transfer
            if platform_reference:
                _complete(transfer, platform_reference)
            else:
                _reverse(transfer, "The platform has no record of the operation; the funds are back in the wallet.")
            return transfer
    # Committed but never sent (the process stopped before the call, or the broker was down).
    return trading_transfer_send(transfer_id)


def trading_transfers_recover(*, older_than: timedelta = RECOVER_AFTER) -> int:
    """Settle pending transfers left behind by crashes and lost answers; returns how many were looked at."""
    cutoff = timezone.now() - older_than
    pending = TradingTransfer.objects.filter(status=Status.PENDING, created_at__lte=cutoff).order_by("pk")
    ids = list(pending.values_list("pk", flat=True)[:200])
    for transfer_id in ids:
        try:
            trading_transfer_recover(transfer_id)
        except ApplicationError as error:  # e.g. the gateway is gone: stays pending, visible to staff
            logger.warning("trading transfer %s not settled: %s", transfer_id, error)
    return len(ids)
