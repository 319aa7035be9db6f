"""/ops/trading/deals/ and positions/: search, keyset pages, CSV; and a client's trading summary."""

from __future__ import annotations

from decimal import Decimal

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from brokerage.csv_export import csv_download, csv_safe
from brokerage.money import CurrencyError, quantize
from brokerage.permissions import capability_required
from crm.models import Client
from trading import selectors
from trading.display import lots, plain
from trading.ops.forms import DealFilterForm, PeriodForm, PositionFilterForm
from trading.ops.paging import keyset_page

DEALS_PER_PAGE = 50


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@capability_required("trading_view")
def deal_list(request):
    form = DealFilterForm(request.GET or None)
    deals = selectors.deal_search(**form.filters()).select_related("platform", "account", "symbol")
    page = keyset_page(
        deals, after=request.GET.get("after", ""), before=request.GET.get("before", ""), size=DEALS_PER_PAGE
    )
    context = {
        "tab": "deals",
        "form": form,
        "page": page,
        "query": _query_without(request, "after", "before"),
        "is_first_page": not (request.GET.get("after") or request.GET.get("before")),
    }
    template = "trading/ops/_deal_rows.html" if request.htmx else "trading/ops/deals.html"
    return render(request, template, context)


@capability_required("trading_view")
def deals_today(request):
    """The dashboard card's link: today's deals on live platforms (the card counts live volume)."""
    return redirect(f"{_deals_url()}?date_from={timezone.localdate():%Y-%m-%d}&kind=live")


def _deals_url() -> str:
    from django.urls import reverse

    return reverse("ops:trading_deals")


CSV_COLUMNS = [
    "platform",
    "ticket",
    "login",
    "time",
    "symbol",
    "action",
    "entry",
    "volume",
    "price",
    "currency",
    "profit",
    "commission",
    "swap",
    "fee",
    "comment",
    "booking",
    "position_id",
    "order",
]


def _price(value: Decimal, digits: int | None) -> str:
    """With the instrument's digits; an unknown instrument's price as reported, without padding."""
    return f"{value.quantize(Decimal(1).scaleb(-digits)):f}" if digits is not None else plain(value, 0)


def _money(amount: Decimal, currency: str | None) -> str:
    if currency:
        try:
            return f"{quantize(amount, currency):f}"
        except CurrencyError:
            pass
    return plain(amount, 0)


@capability_required("trading_view")
def deal_csv(request):
    """Every deal the filters match, streamed (a server-side cursor: memory stays flat for millions)."""
    form = DealFilterForm(request.GET or None)
    rows = (
        selectors.deal_search(**form.filters())
        .values_list(
            "platform__code",
            "ticket",
            "login",
            "time",
            "symbol_name",
            "action",
            "entry",
            "volume",
            "price",
            "symbol__digits",
            "account__currency",
            "profit",
            "commission",
            "swap",
            "fee",
            "comment",
            "booking",
            "position_id",
            "order",
        )
        .iterator(chunk_size=2000)
    )

    def lines():
        for row in rows:
            (platform, ticket, login, time, symbol, action, entry, volume, price, digits, currency, *amounts) = row[:15]
            comment, booking, position, order = row[15:]
            yield [
                platform,
                ticket,
                csv_safe(login),
                time.isoformat(),
                csv_safe(symbol),
                action,
                entry,
                lots(volume),
                _price(price, digits),
                currency or "",
                *(_money(amount, currency) for amount in amounts),
                csv_safe(comment),
                booking,
                "" if position is None else position,
                "" if order is None else order,
            ]

    return csv_download("deals", CSV_COLUMNS, lines())


@capability_required("trading_view")
def position_list(request):
    form = PositionFilterForm(request.GET or None)
    positions = selectors.position_search(**form.filters())
    context = {
        "tab": "positions",
        "form": form,
        "page": Paginator(positions, 100).get_page(request.GET.get("page")),
        "query": _query_without(request, "page"),
        "floating": selectors.floating_by_currency(positions),
        "kind": form.filters()["is_demo"],
    }
    template = "trading/ops/_position_rows.html" if request.htmx else "trading/ops/positions.html"
    return render(request, template, context)


@capability_required("trading_view")
def client_summary(request, client_id: int):
    client = get_object_or_404(Client, pk=client_id)
    form = PeriodForm(request.GET or None)
    summary = selectors.client_trading_summary(client, since=form.since())
    return render(
        request,
        "trading/ops/client_summary.html",
        {"tab": "accounts", "client": client, "form": form, "summary": summary},
    )
