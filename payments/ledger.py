"""Every write to the ledger: accounts, postings, holds, reversals; and the proofs that it is right.

Nothing else in the product changes a balance. A posting locks the accounts it
touches (in id order, so two postings never deadlock), checks that lines
balance per currency and that no wallet goes below what is held on it,
writes the lines with each account's running balance, and commits. The
database checks the same things again (migration 0002 and the CHECK
constraints), so a bug here fails loudly instead of losing money.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from psycopg2.extras import execute_values

from brokerage.errors import ApplicationError
from brokerage.money import minor_units, quantize
from payments.models import Hold, LedgerAccount, LedgerLine, LedgerTransaction

Kind = LedgerAccount.Kind


def _shown(amount: Decimal, currency: str) -> str:
    """An amount as a person reads it: grouped, at the currency's minor unit."""
    return f"{quantize(amount, currency):,f}"


class InsufficientFunds(ApplicationError):
    def __init__(self, account: LedgerAccount, wanted: Decimal):
        super().__init__(
            f"Not enough available funds in {account.currency}: {_shown(account.available, account.currency)} "
            f"available, {_shown(wanted, account.currency)} needed.",
            fields={"amount": ["More than the available balance."]},
            code="insufficient_funds",
        )


def amount_clean(amount: Decimal, currency: str, *, field: str = "amount") -> Decimal:
    """A positive amount with no more decimals than the currency has, or a clear error."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money amounts are Decimal, not {type(amount).__name__}.")
    try:
        places = minor_units(currency)
    except ValueError:
        raise ApplicationError(f"Unknown currency {currency!r}.", fields={"currency": ["Unknown currency."]}) from None
    if not amount.is_finite() or amount <= 0:
        raise ApplicationError("The amount must be more than zero.", fields={field: ["Must be more than zero."]})
    if quantize(amount, currency) != amount:
        raise ApplicationError(
            f"{currency} amounts have at most {places} decimals.",
            fields={field: [f"At most {places} decimals in {currency}."]},
        )
    return amount


# Accounts -----------------------------------------------------------------------------------------


def _account(code: str, **fields) -> LedgerAccount:
    account = LedgerAccount.objects.filter(code=code).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(code=code, **fields)
    except IntegrityError:  # created by a racing request
        return LedgerAccount.objects.get(code=code)


def wallet_for(client, currency: str) -> LedgerAccount:
    """The client's wallet in a currency, opened on first use."""
    minor_units(currency)
    return _account(
        f"wallet:{client.pk}:{currency}",
        kind=Kind.CLIENT_WALLET,
        currency=currency,
        client=client,
        name=f"{client} · {currency} wallet",
    )


def trading_funds_for(client, currency: str) -> LedgerAccount:
    """What the client has moved to trading accounts in a currency (the platform holds it)."""
    return _account(
        f"trading:{client.pk}:{currency}",
        kind=Kind.CLIENT_TRADING,
        currency=currency,
        client=client,
        name=f"{client} · {currency} on trading accounts",
    )


_SYSTEM_NAMES = {
    Kind.PSP_CLEARING: "PSP clearing",
    Kind.BROKER_REVENUE: "Broker revenue",
    Kind.FEES: "Fee income",
    Kind.FX_CONVERSION: "FX conversion",
    Kind.IB_COMMISSION_PAYABLE: "IB commission payable",
    Kind.SUSPENSE: "Suspense",
    Kind.TRADING_RESULT: "Trading results",
}


def system_account(kind: str, currency: str, qualifier: str = "") -> LedgerAccount:
    """A broker-side account (clearing per PSP, revenue, fees, FX, IB payable, suspense) per currency."""
    if kind in (Kind.CLIENT_WALLET, Kind.CLIENT_TRADING):
        raise ValueError("client accounts are opened with wallet_for / trading_funds_for")
    minor_units(currency)
    code = ":".join(part for part in (kind, qualifier, currency) if part)
    name = " · ".join(part for part in (_SYSTEM_NAMES[Kind(kind)], qualifier, currency) if part)
    return _account(code, kind=kind, currency=currency, name=name, allow_negative=True)


# Postings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount: Decimal


def _validate(lines: Sequence[Line]) -> None:
    if len(lines) < 2:
        raise ValueError("a ledger transaction needs at least two lines")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        currency = line.account.currency
        if not isinstance(line.amount, Decimal) or line.amount == 0:
            raise ValueError(f"line amounts are non-zero Decimals, got {line.amount!r}")
        if quantize(line.amount, currency) != line.amount:
            raise ValueError(f"{line.amount} has more decimals than {currency} allows")
        totals[currency] += line.amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise ValueError(f"lines do not balance: {unbalanced}")


def _lock(account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock accounts in id order: postings that share accounts queue instead of deadlocking."""
    locked = LedgerAccount.objects.select_for_update().filter(pk__in=set(account_ids)).order_by("pk")
    return {account.pk: account for account in locked}


def transaction_post(
    *,
    kind: str,
    reference: str,
    lines: Sequence[Line],
    description: str = "",
    client=None,
    actor=None,
    metadata: dict | None = None,
    reverses: LedgerTransaction | None = None,
    capture: Hold | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction; posting the same reference again returns the first one.

    `capture` settles a pending hold in the same transaction: the held amount
    stops counting against the balance as the debit posts.
    """
    _validate(lines)
    with transaction.atomic():
        existing = LedgerTransaction.objects.filter(reference=reference).first()
        if existing is not None:
            return existing
        accounts = _lock(line.account.pk for line in lines)
        if capture is not None:
            capture = Hold.objects.select_for_update().get(pk=capture.pk)
            if capture.status != Hold.Status.PENDING:
                raise ApplicationError(f"Hold {capture.reference} is already {capture.status}.", code="hold_resolved")
            accounts[capture.account_id].held -= capture.amount
        now = timezone.now()
        try:
            with transaction.atomic():
                txn = LedgerTransaction.objects.create(
                    reference=reference,
                    kind=kind,
                    description=description[:300],
                    client=client,
                    posted_at=now,
                    reverses=reverses,
                    created_by=actor,
                    metadata=metadata or {},
                )
        except IntegrityError as error:
            # Lost a race for the same reference (or the original was reversed twice).
            existing = LedgerTransaction.objects.filter(reference=reference).first()
            if existing is None:
                raise ApplicationError(
                    "This transaction has already been reversed.", code="already_reversed"
                ) from error
            return existing
        rows = []
        for line in lines:
            account = accounts[line.account.pk]
            if line.amount < 0 and not account.allow_negative and account.balance + line.amount < account.held:
                raise InsufficientFunds(account, -line.amount)
            account.balance += line.amount
            rows.append(
                LedgerLine(
                    transaction=txn,
                    account=account,
                    currency=account.currency,
                    amount=line.amount,
                    balance_after=account.balance,
                )
            )
        LedgerLine.objects.bulk_create(rows)
        for account in accounts.values():
            account.save(update_fields=["balance", "held"])
        if capture is not None:
            capture.status = Hold.Status.CAPTURED
            capture.transaction = txn
            capture.resolved_at = now
            capture.save(update_fields=["status", "transaction", "resolved_at"])
    return txn


def transaction_reverse(
    original: LedgerTransaction, *, actor=None, reason: str, description: str = ""
) -> LedgerTransaction:
    """Post the mirror image of a transaction, pointing at it. Refused if it would overdraw a wallet.

    `description` is what statements show (clients read it); by default it names the original and the
    reason. The reason is kept in the metadata either way.
    """
    if original.kind == LedgerTransaction.Kind.REVERSAL:
        raise ApplicationError("A reversal cannot itself be reversed; post a new transaction.", code="reversal")
    if not reason.strip():
        raise ApplicationError("Say why the transaction is reversed.", fields={"reason": ["Required."]})
    lines = [Line(line.account, -line.amount) for line in original.lines.select_related("account")]
    return transaction_post(
        kind=LedgerTransaction.Kind.REVERSAL,
        reference=f"reversal:{original.pk}",
        lines=lines,
        description=description.strip() or f"Reversal of {original.reference}: {reason.strip()}",
        client=original.client,
        actor=actor,
        reverses=original,
        metadata={"reason": reason.strip()},
    )


@dataclass(frozen=True)
class Posting:
    kind: str
    reference: str
    lines: Sequence[Line]
    description: str = ""
    client_id: int | None = None
    metadata: dict | None = None


def transactions_post_bulk(postings: Sequence[Posting]) -> int:
    """Post many transactions in one database transaction (commission accruals, back-fills).

    Same rules as transaction_post, set-based: one lock of every account (in id
    order), one COPY of the transactions, one COPY of the lines, one update of
    the balances. References already posted are skipped; returns how many were
    new. They are looked up under the account locks, so the same batch sent
    twice at once (a redelivered task) waits for the first and then skips it.
    """
    references = [p.reference for p in postings]
    if len(set(references)) != len(references):
        raise ValueError("a batch holds the same reference twice")
    for posting in postings:
        _validate(posting.lines)
    if not postings:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        accounts = _lock(line.account.pk for p in postings for line in p.lines)
        cursor.execute("SELECT reference FROM payments_ledgertransaction WHERE reference = ANY(%s)", [references])
        done = {row[0] for row in cursor.fetchall()}
        postings = [p for p in postings if p.reference not in done]
        if not postings:
            return 0
        ids = _insert_transactions(cursor, postings, timezone.now())
        buffer = io.StringIO()
        for posting, txn_id in zip(postings, ids, strict=True):
            for line in posting.lines:
                account = accounts[line.account.pk]
                if line.amount < 0 and not account.allow_negative and account.balance + line.amount < account.held:
                    raise InsufficientFunds(account, -line.amount)
                account.balance += line.amount
                buffer.write(f"{txn_id}\t{account.pk}\t{account.currency}\t{line.amount}\t{account.balance}\n")
        buffer.seek(0)
        cursor.copy_expert(
            "COPY payments_ledgerline (transaction_id, account_id, currency, amount, balance_after) FROM STDIN",
            buffer,
        )
        execute_values(
            cursor,
            "UPDATE payments_ledgeraccount a SET balance = v.balance::numeric FROM (VALUES %s) v(id, balance)"
            " WHERE a.id = v.id",
            [(a.pk, str(a.balance)) for a in accounts.values()],
        )
    return len(postings)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value) -> str:
    """One field of COPY's text format."""
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def _insert_transactions(cursor, postings: Sequence[Posting], now: datetime) -> list[int]:
    """COPY the transaction rows with ids drawn from their sequence beforehand (COPY returns none)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('payments_ledgertransaction', 'id')) FROM generate_series(1, %s)",
        [len(postings)],
    )
    ids = [row[0] for row in cursor.fetchall()]
    posted_at = now.isoformat()
    buffer = io.StringIO()
    for txn_id, p in zip(ids, postings, strict=True):
        fields = (
            txn_id,
            p.reference,
            p.kind,
            p.description[:300],
            p.client_id,
            posted_at,
            json.dumps(p.metadata or {}),
        )
        buffer.write("\t".join(map(_copy_field, fields)) + "\n")
    buffer.seek(0)
    cursor.copy_expert(
        "COPY payments_ledgertransaction (id, reference, kind, description, client_id, posted_at, metadata) FROM STDIN",
        buffer,
    )
    return ids


# Holds --------------------------------------------------------------------------------------------


def hold_place(account: LedgerAccount, amount: Decimal, *, reference: str, description: str = "") -> Hold:
    """Reserve funds; refused when the account's available balance is short."""
    amount_clean(amount, account.currency)
    with transaction.atomic():
        existing = Hold.objects.filter(reference=reference).first()
        if existing is not None:
            return existing
        account = _lock([account.pk])[account.pk]
        if not account.allow_negative and account.available < amount:
            raise InsufficientFunds(account, amount)
        account.held += amount
        account.save(update_fields=["held"])
        return Hold.objects.create(account=account, amount=amount, reference=reference, description=description)


def hold_release(hold: Hold) -> Hold:
    """Give held funds back to the available balance; releasing twice is a no-op."""
    with transaction.atomic():
        account = _lock([hold.account_id])[hold.account_id]
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        if hold.status != Hold.Status.PENDING:
            return hold
        account.held -= hold.amount
        account.save(update_fields=["held"])
        hold.status = Hold.Status.RELEASED
        hold.resolved_at = timezone.now()
        hold.save(update_fields=["status", "resolved_at"])
    return hold


# Reads --------------------------------------------------------------------------------------------


def balance_at(account: LedgerAccount, moment: datetime) -> Decimal:
    """The account's posted balance as it stood at `moment`."""
    last = (
        LedgerLine.objects.filter(account=account, transaction__posted_at__lte=moment)
        .order_by("-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last if last is not None else Decimal(0)


def client_balances(client) -> list[LedgerAccount]:
    return list(LedgerAccount.objects.filter(client=client, kind=Kind.CLIENT_WALLET).order_by("currency"))


# Proof --------------------------------------------------------------------------------------------

_CHECKS = {
    "stored balance differs from the sum of its lines": """
        SELECT a.code, a.balance::text, coalesce(sum(l.amount), 0)::text
          FROM payments_ledgeraccount a LEFT JOIN payments_ledgerline l ON l.account_id = a.id
         GROUP BY a.id HAVING a.balance <> coalesce(sum(l.amount), 0)""",
    "running balance differs from the lines before it": """
        SELECT code, id::text, balance_after::text FROM (
            SELECT a.code, l.id, l.balance_after,
                   sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.id) AS running
              FROM payments_ledgerline l JOIN payments_ledgeraccount a ON a.id = l.account_id) s
         WHERE balance_after <> running""",
    "held amount differs from the pending holds": """
        SELECT a.code, a.held::text, coalesce(sum(h.amount) FILTER (WHERE h.status = 'pending'), 0)::text
          FROM payments_ledgeraccount a LEFT JOIN payments_hold h ON h.account_id = a.id
         GROUP BY a.id HAVING a.held <> coalesce(sum(h.amount) FILTER (WHERE h.status = 'pending'), 0)""",
    "transaction does not balance": """
        SELECT t.reference, l.currency, sum(l.amount)::text
          FROM payments_ledgertransaction t JOIN payments_ledgerline l ON l.transaction_id = t.id
         GROUP BY t.id, l.currency HAVING sum(l.amount) <> 0""",
    "wallet overdrawn": """
        SELECT code, balance::text, held::text FROM payments_ledgeraccount
         WHERE NOT allow_negative AND (balance < 0 OR balance < held)""",
}


def ledger_problems() -> list[str]:
    """Everything wrong with the current schema's ledger; an empty list is the proof it is right."""
    problems = []
    with connection.cursor() as cursor:
        for label, sql in _CHECKS.items():
            cursor.execute(sql)
            problems += [f"{label}: " + " ".join(row) for row in cursor.fetchall()]
    return problems


def ledger_totals() -> dict[str, Decimal]:
    """Sum of every line per currency: zero in each, or the books do not balance."""
    rows = LedgerLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    return {row["currency"]: row["total"] for row in rows}
