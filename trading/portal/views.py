"""The client's trading pages in /portal/trading/: accounts, opening one, an account's detail with
wallet transfers, and the trading history with its CSV export.

Every page starts from the signed-in client; a login that is not theirs is a 404.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from brokerage.csv_export import csv_download, csv_safe
from brokerage.errors import ApplicationError
from brokerage.money import minor_units, quantize
from brokerage.permissions import capability_required
from payments import ledger
from payments.models import TradingTransfer
from payments.trading_gateway import PlatformUnavailable, TradingGatewayError
from payments.wallets.trading import transfer_from_trading, transfer_refusal_text, transfer_to_trading
from trading import services
from trading.display import lots, plain, price
from trading.models import Platform, Symbol, TradingAccount, TradingPolicy
from trading.portal import selectors
from trading.portal.display import deal_rows, position_rows
from trading.portal.forms import AccountOpenForm, HistoryFilterForm, TransferForm

HISTORY_PAGE_SIZE = 50
Direction = TradingTransfer.Direction
TransferStatus = TradingTransfer.Status
PLATFORM_DOWN = "The trading server is not answering right now. Please try again in a minute."


def _client_of(user):
    try:
        return user.client
    except (AttributeError, ObjectDoesNotExist):
        return None


def _shown(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency):,f} {currency}"


def _refusal_show(error: ApplicationError, form) -> None:
    """A service's refusal on a form, once: its full message beside the field it is about (the first
    of the form's fields it names), or on top when it names none of them. Its short per-field texts
    ("More than the available balance.") would only repeat it."""
    named = [name for name in error.fields if name in form.fields]
    form.add_error(named[0] if named else None, error.message)


def _message_pending(request) -> bool:
    """True when a message is already waiting to be shown (e.g. the first of two submits of a form
    left "account … is open"): a second one saying the same again would only confuse."""
    storage = messages.get_messages(request)
    pending = len(storage) > 0
    storage.used = False  # looking is not showing: keep them for the next page
    return pending


# One-time form tokens ------------------------------------------------------------------------------
# Each form carries a fresh token. The first POST with it claims it (an atomic cache add) and
# records what it made; a second POST with the same token (a double click, a resubmit after "back")
# is told what the first one did instead of doing it again. A refused attempt gives the token back,
# so the corrected form can be sent.

ONCE_SECONDS = 24 * 3600
ONCE_WORKING = "working"


def _once_key(client, scope: str, token: str) -> str:
    return f"trading:portal:once:{client.pk}:{scope}:{token}"


def _once_claim(client, scope: str, token: str) -> tuple[bool, str]:
    """(claimed, what an earlier submit with this token recorded)."""
    key = _once_key(client, scope, token)
    if cache.add(key, ONCE_WORKING, ONCE_SECONDS):
        return True, ""
    return False, cache.get(key) or ONCE_WORKING


def _once_done(client, scope: str, token: str, result: str) -> None:
    cache.set(_once_key(client, scope, token), result, ONCE_SECONDS)


def _once_release(client, scope: str, token: str) -> None:
    cache.delete(_once_key(client, scope, token))


# Accounts ------------------------------------------------------------------------------------------


@capability_required("portal_access")
def accounts(request):
    client = _client_of(request.user)
    policy = TradingPolicy.current()
    rows = selectors.client_accounts(client, policy) if client else []
    context = {
        "client": client,
        "tab": "accounts",
        "live_accounts": [account for account in rows if not account.is_demo],
        "demo_accounts": [account for account in rows if account.is_demo],
        "can_open": client is not None and len(rows) < policy.max_accounts_per_client,
        "policy": policy,
    }
    return render(request, "trading/portal/accounts.html", context)


@require_POST
@capability_required("portal_access")
def account_refresh(request, login: str):
    """Ask the platform for the account's figures now. HTMX swaps the card (or the detail's panel)."""
    client = _client_of(request.user)
    policy = TradingPolicy.current()
    account = selectors.client_account(client, login, policy)
    problem = ""
    try:
        services.account_state_refresh(account)
    except PlatformUnavailable:
        problem = "The trading server is not answering right now, so these are the last figures we received."
    except TradingGatewayError as refusal:
        problem = f"The trading server could not report this account: {refusal.message}"
    part = "state" if request.POST.get("part") == "state" else "card"
    if request.htmx:
        account = selectors.client_account(client, login, policy)
        template = "trading/portal/_state.html" if part == "state" else "trading/portal/_account_card.html"
        # On the detail page the transfer form's free margin is refreshed with the panel (out of band).
        context = {"account": account, "problem": problem, "policy": policy, "oob": part == "state"}
        return render(request, template, context)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, f"Account {account.login} is up to date.")
    if part == "state":
        return redirect("portal:trading_account", login=account.login)
    return redirect("portal:trading_accounts")


# Opening an account --------------------------------------------------------------------------------


@capability_required("portal_access")
def account_open(request):
    client = _client_of(request.user)
    if client is None:
        raise Http404("No client profile is linked to this sign-in.")
    policy = TradingPolicy.current()
    held = client.trading_accounts.count()
    form = AccountOpenForm(request.POST if request.method == "POST" else None, policy=policy)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        claimed, earlier = _once_claim(client, "open", data["token"])
        if not claimed:
            told = _message_pending(request)
            if earlier != ONCE_WORKING:
                if not told:
                    messages.info(request, f"That form was already sent: account {earlier} is open.")
                return redirect("portal:trading_account", login=earlier)
            if not told:
                messages.info(request, "That form was already sent; your account is being opened.")
            return redirect("portal:trading_accounts")
        is_demo = data["kind"] == "demo"
        try:
            account = services.account_open(
                client=client,
                is_demo=is_demo,
                leverage=data["leverage"],
                currency=data["currency"],
                actor=request.user,
            )
        except ApplicationError as error:
            _once_release(client, "open", data["token"])
            if isinstance(error, PlatformUnavailable):
                form.add_error(None, f"{PLATFORM_DOWN} No account was opened.")
            else:
                _refusal_show(error, form)
        else:
            _once_done(client, "open", data["token"], account.login)
            if getattr(account, "initial_password", ""):
                return _credentials(request, account)
            if account.state_at is None:  # open, but the server stopped answering before its first figures
                messages.warning(
                    request,
                    f"Your account {account.login} is open, but the trading server did not answer while we "
                    "finished setting it up. Its figures appear here as soon as it reports them.",
                )
            elif is_demo:
                funds = _shown(account.balance, account.currency)
                messages.success(request, f"Your demo account {account.login} is open with {funds} of play money.")
            else:
                messages.success(
                    request, f"Your live account {account.login} is open. Move funds to it from your wallet below."
                )
            return redirect("portal:trading_account", login=account.login)
    context = {
        "form": form,
        "policy": policy,
        "tab": "open",
        "held": held,
        "at_limit": held >= policy.max_accounts_per_client,
    }
    return render(request, "trading/portal/open.html", context, status=400 if form.errors else 200)


def _server_address(platform: Platform) -> str:
    """Where the trader's terminal connects: the platform's host (and port), without the URL's scheme."""
    parts = urlsplit(platform.server if "//" in platform.server else f"//{platform.server}")
    return parts.netloc or platform.server


def _credentials(request, account: TradingAccount):
    """The new MT5 account's login, server and password, shown once in this response and nowhere else:
    not in messages or the session, and the browser is told not to keep the page."""
    context = {
        "account": account,
        "tab": "open",
        "server": _server_address(account.platform),
        "password": account.initial_password,
        "funds": _shown(account.balance, account.currency) if account.is_demo and account.state_at else "",
    }
    response = render(request, "trading/portal/credentials.html", context)
    add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
    return response


# Account detail and transfers ----------------------------------------------------------------------


def _transfer_forms(bound: TransferForm | None = None) -> dict[str, TransferForm]:
    forms = {direction: TransferForm(direction=direction) for direction in (Direction.TO_ACCOUNT, Direction.TO_WALLET)}
    if bound is not None:
        forms[bound.prefix] = bound
    return forms


def _transfers_blocked(account: TradingAccount) -> str:
    """Why money cannot move to or from this account, or "" when it can."""
    if account.is_demo:
        return "Demo accounts trade with play money, so no real money moves in or out of them."
    if account.status != TradingAccount.Status.ACTIVE:
        return "This account is disabled, so transfers are paused. Please contact support."
    return ""


def _detail(request, client, account: TradingAccount, policy: TradingPolicy, *, bound=None, status: int = 200):
    blocked = _transfers_blocked(account)
    wallet = None if blocked else ledger.wallet_for(client, account.currency)
    transfers = _transfer_rows(selectors.account_transfers_recent(client, account))
    context = {
        "account": account,
        "policy": policy,
        "tab": "accounts",
        "positions": position_rows(selectors.account_positions(account)),
        "deals": deal_rows(selectors.account_deals_recent(account)),
        "transfers": transfers,
        "transfers_pending": any(t.status == TransferStatus.PENDING for t in transfers),
        "transfers_blocked": blocked,
        "wallet": wallet,
        "forms": _transfer_forms(bound) if not blocked else {},
    }
    context["floating"] = sum((p.profit + p.swap for p in context["positions"]), Decimal(0))
    return render(request, "trading/portal/detail.html", context, status=status)


@capability_required("portal_access")
def account_detail(request, login: str):
    client = _client_of(request.user)
    policy = TradingPolicy.current()
    account = selectors.client_account(client, login, policy)
    return _detail(request, client, account, policy)


def _transfer_message(request, transfer: TradingTransfer, account: TradingAccount) -> None:
    amount = _shown(transfer.amount, transfer.currency)
    if transfer.direction == Direction.TO_ACCOUNT:
        route = f"from your wallet to account {account.login}"
    else:
        route = f"from account {account.login} to your wallet"
    if transfer.status == TransferStatus.COMPLETED:
        messages.success(request, f"Moved {amount} {route}.")
    elif transfer.status == TransferStatus.REVERSED:
        messages.error(
            request,
            f"The transfer of {amount} {route} did not go through: {transfer_refusal_text(transfer.failure_reason)}. "
            f"{_nothing_moved(transfer)}",
        )
    else:
        messages.info(request, f"Your transfer of {amount} {route} is on its way; its status below updates by itself.")


def _nothing_moved(transfer: TradingTransfer) -> str:
    if transfer.direction == Direction.TO_WALLET:
        return "Nothing moved; the money is still on your trading account."
    return "Nothing moved; the money is still in your wallet."


def _transfer_rows(transfers: list[TradingTransfer]) -> list[TradingTransfer]:
    """The transfers with a client-readable line for the ones that were not made."""
    for transfer in transfers:
        if transfer.status == TransferStatus.REVERSED:
            why = transfer_refusal_text(transfer.failure_reason)
            transfer.refusal_shown = f"Not made: {why}. {_nothing_moved(transfer)}"
    return transfers


def _beyond_free_margin(account: TradingAccount) -> str:
    """Caught here, before any money moves: the platform would refuse it anyway (it checks margin)."""
    if account.state_at is None:
        return "The account has not reported its free margin yet; refresh it first."
    free = _shown(account.margin_free, account.currency)
    return f"More than the account's free margin of {free} (as of {timezone.localtime(account.state_at):%H:%M:%S})."


@require_POST
@capability_required("portal_access")
def account_transfer(request, login: str, direction: str):
    client = _client_of(request.user)
    policy = TradingPolicy.current()
    account = selectors.client_account(client, login, policy)
    if direction not in Direction.values:
        raise Http404("No such transfer.")
    blocked = _transfers_blocked(account)
    if blocked:
        messages.error(request, blocked)
        return redirect("portal:trading_account", login=account.login)
    form = TransferForm(request.POST, direction=direction)
    if form.is_valid():
        amount, token = form.cleaned_data["amount"], form.cleaned_data["token"]
        scope = f"transfer:{account.login}:{direction}"
        if direction == Direction.TO_WALLET and amount > account.margin_free:
            form.add_error("amount", _beyond_free_margin(account))
        else:
            claimed, _ = _once_claim(client, scope, token)
            if not claimed:
                if not _message_pending(request):
                    messages.info(request, "That transfer was already sent; see its status below.")
                return redirect(reverse("portal:trading_account", kwargs={"login": account.login}) + "#transfers")
            move = transfer_to_trading if direction == Direction.TO_ACCOUNT else transfer_from_trading
            try:
                transfer = move(
                    client=client, currency=account.currency, login=account.login, amount=amount, actor=request.user
                )
            except ApplicationError as error:
                _once_release(client, scope, token)
                _refusal_show(error, form)
            else:
                _once_done(client, scope, token, str(transfer.public_id))
                transfer.refresh_from_db()
                _transfer_message(request, transfer, account)
                return redirect(reverse("portal:trading_account", kwargs={"login": account.login}) + "#transfers")
    return _detail(request, client, account, policy, bound=form, status=400)


@capability_required("portal_access")
def account_transfers(request, login: str):
    """The transfers table alone: the detail page polls it while a transfer is pending."""
    client = _client_of(request.user)
    account = selectors.client_account(client, login, TradingPolicy.current())
    transfers = _transfer_rows(selectors.account_transfers_recent(client, account))
    context = {
        "account": account,
        "transfers": transfers,
        "transfers_pending": any(t.status == TransferStatus.PENDING for t in transfers),
    }
    return render(request, "trading/portal/_transfers.html", context)


# History -------------------------------------------------------------------------------------------


def _history_filtered(request, client):
    logins = list(client.trading_accounts.order_by("is_demo", "login").values_list("login", flat=True))
    form = HistoryFilterForm(request.GET or None, logins=logins, symbols=selectors.client_symbols(client))
    if form.is_bound and not form.is_valid():
        return form, None
    filters = {key: value for key, value in (form.cleaned_data if form.is_bound else {}).items() if value}
    return form, selectors.client_deals(client, **filters)


@capability_required("portal_access")
def history(request):
    client = _client_of(request.user)
    if client is None:
        raise Http404("No client profile is linked to this sign-in.")
    form, deals = _history_filtered(request, client)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "tab": "history", "query": query.urlencode(), "filtered": bool(query)}
    if deals is not None:
        page = Paginator(deals, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = deal_rows(page.object_list)
        totals = selectors.deal_totals(deals)
        for row in totals:
            row["volume_shown"] = lots(row["volume"])
        groups = [{"kind": kind, "rows": [row for row in totals if row["kind"] == kind]} for kind in ("live", "demo")]
        context.update(page=page, totals=totals, totals_groups=[group for group in groups if group["rows"]])
    return render(request, "trading/portal/history.html", context, status=200 if deals is not None else 400)


CSV_HEADER = [
    "time",
    "account",
    "kind",
    "ticket",
    "type",
    "entry",
    "symbol",
    "volume",
    "price",
    "profit",
    "commission",
    "swap",
    "fee",
    "currency",
    "description",
    "comment",
]


@capability_required("portal_access")
def history_csv(request):
    """The filtered history as CSV, streamed: numbers written plainly (no grouping, no rounding)."""
    client = _client_of(request.user)
    if client is None:
        raise Http404("No client profile is linked to this sign-in.")
    form, deals = _history_filtered(request, client)
    if deals is None:
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        return HttpResponse(f"Fix the filters first ({problems}).", status=400, content_type="text/plain")

    def rows():
        # Deals whose symbol the sync could not link still get the digits of the instrument of that name.
        by_name = {symbol.name: symbol for symbol in Symbol.objects.all()}
        for deal in deals.iterator(chunk_size=1000):
            places = minor_units(deal.account.currency)
            yield [
                timezone.localtime(deal.time).isoformat(),
                deal.login,
                "demo" if deal.account.is_demo else "live",
                deal.ticket,
                deal.action,
                deal.entry if deal.action in selectors.TRADE_ACTIONS else "",
                csv_safe(deal.symbol_name),
                lots(deal.volume),
                price(deal.price, deal.symbol or by_name.get(deal.symbol_name)),
                plain(deal.profit, places),
                plain(deal.commission, places),
                plain(deal.swap, places),
                plain(deal.fee, places),
                deal.account.currency,
                csv_safe(deal.description),
                csv_safe(deal.comment),
            ]

    return csv_download("trading-history", CSV_HEADER, rows())
