"""/ops/trading/deals/ and positions/: search, keyset pages, CSV; and a client's trading summary."""

from __future__ import annotations

import csv
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from brokerage.money import CurrencyError, quantize
from brokerage.permissions import capability_required
from crm.models import Client
from trading import selectors
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
    """The dashboard card's link: today's deals."""
    return redirect(f"{_deals_url()}?date_from={timezone.localdate():%Y-%m-%d}")


def _deals_url() -> str:
    from django.urls import reverse

    return reverse("ops:trading_deals")


def _csv_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


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
LOTS = Decimal("0.01")


def _plain(value: Decimal) -> str:
    """1.0850000000 -> "1.085", 0E-10 -> "0": for figures without a symbol or currency to round by."""
    return f"{value.normalize():f}" if value else "0"


def _lots(volume: Decimal) -> str:
    """Lots with two decimals, more only when the volume has them (0.001 lots)."""
    return f"{volume.quantize(LOTS):f}" if volume == volume.quantize(LOTS) else _plain(volume)


def _price(price: Decimal, digits: int | None) -> str:
    return f"{price.quantize(Decimal(1).scaleb(-digits)):f}" if digits is not None else _plain(price)


def _money(amount: Decimal, currency: str | None) -> str:
    if currency:
        try:
            return f"{quantize(amount, currency):f}"
        except CurrencyError:
            pass
    return _plain(amount)


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
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for row in rows:
            (platform, ticket, login, time, symbol, action, entry, volume, price, digits, currency, *amounts) = row[:15]
            comment, booking, position, order = row[15:]
            yield writer.writerow(
                [
                    platform,
                    ticket,
                    _csv_safe(login),
                    time.isoformat(),
                    _csv_safe(symbol),
                    action,
                    entry,
                    _lots(volume),
                    _price(price, digits),
                    currency or "",
                    *(_money(amount, currency) for amount in amounts),
                    _csv_safe(comment),
                    booking,
                    "" if position is None else position,
                    "" if order is None else order,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="deals-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


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
