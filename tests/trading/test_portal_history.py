"""The client's trading history: filters, totals per currency, pagination and the CSV export.

Deals are written straight into the mirror (as the sync would): the pages only read them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tests import factories
from tests.tenants.web import tenant_web_client
from trading import services
from trading.models import Deal, Symbol

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def dana(in_alpha):
    return factories.client_user("dana@alpha.test")


@pytest.fixture
def books(memory_platform, carl, dana):
    """Carl: a USD live account with trades and a deposit, an EUR demo account; Dana: one trade of her own."""
    usd = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    eur = services.account_open(client=carl.client, is_demo=True, leverage=30, currency="EUR", actor=carl)
    hers = services.account_open(client=dana.client, is_demo=False, leverage=100, currency="USD", actor=dana)
    eurusd, gold = Symbol.objects.get(name="EURUSD"), Symbol.objects.get(name="XAUUSD")
    tickets = iter(range(1, 1000))

    def book(account, when, action="buy", symbol=eurusd, **fields):
        values = {"entry": "out", "volume": D("1"), "price": D("1.0850"), "profit": D("0")}
        values.update(fields)
        return Deal.objects.create(
            platform=account.platform,
            ticket=next(tickets),
            login=account.login,
            account=account,
            time=when,
            symbol_name=symbol.name if symbol else "",
            symbol=symbol,
            action=action,
            **values,
        )

    book(usd, T0, action="balance", symbol=None, volume=D(0), price=D(0), profit=D("1000"), comment="bo-0123456789abcdef Wallet transfer")  # fmt: skip
    book(usd, T0 + timedelta(hours=1), profit=D("50.25"), commission=D("-3.50"), swap=D("-1.20"))
    book(usd, T0 + timedelta(days=1), action="sell", profit=D("-20.00"), commission=D("-3.50"), volume=D("0.5"))
    book(usd, T0 + timedelta(days=2), symbol=gold, price=D("2345.6"), volume=D("0.10"), profit=D("12.34"))
    book(eur, T0 + timedelta(days=1), profit=D("7.00"), volume=D("2"), comment="=HYPERLINK(1)")
    book(hers, T0, profit=D("999.99"))
    return {"usd": usd, "eur": eur, "hers": hers, "book": book}


def get(alpha, user, path):
    return tenant_web_client(alpha, user).get(path)


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def totals_row(html: str, kind: str, currency: str) -> str:
    row = html[html.index(f'class="totals-{kind}-{currency}"') :]
    return row[: row.index("</tr>")]


def test_the_history_lists_only_the_clients_own_deals_with_totals_per_currency(alpha, books, carl):
    html = get(alpha, carl, "/portal/trading/history/").content.decode()
    assert "999.99" not in html and books["hers"].login not in html
    assert html.count('<tr><td class="when">') == 5
    usd = html[html.index('class="totals-live-USD"') :]
    usd = usd[: usd.index("</tr>")]
    # trades: profit 50.25 - 20 + 12.34 = 42.59; commission -7.00; swap -1.20; result 34.39; deposits 1,000.00
    assert ">4<" in usd and "1.60" in usd and "42.59" in usd and "-7.00" in usd and "-1.20" in usd
    assert "34.39 USD" in usd and "1,000.00" in usd
    eur = html[html.index('class="totals-demo-EUR"') :]
    assert "7.00 EUR" in eur[: eur.index("</tr>")]
    assert "Transfer from wallet" in html and "bo-0123456789abcdef" not in html
    assert "2345.60" in html and "1.08500" in html  # prices with the instrument's digits


def test_demo_and_live_are_totalled_apart_even_in_the_same_currency(alpha, books, carl):
    """Play money (the demo's 10,000 and its trades) never adds to the live account's figures."""
    demo_usd = services.account_open(client=carl.client, is_demo=True, leverage=30, currency="USD", actor=carl)
    book = books["book"]
    book(demo_usd, T0, action="balance", symbol=None, volume=D(0), price=D(0), profit=D("10000"), comment="Demo funds")
    book(demo_usd, T0 + timedelta(hours=2), profit=D("500.00"), commission=D("-2.00"))
    html = get(alpha, carl, "/portal/trading/history/").content.decode()
    live, demo = totals_row(html, "live", "USD"), totals_row(html, "demo", "USD")
    assert ">4<" in live and "34.39 USD" in live and "1,000.00" in live  # as before the demo account traded
    assert "10,000" not in live and "534.39" not in live
    assert ">2<" in demo and "498.00 USD" in demo and "10,000.00" in demo and "play money" in demo
    assert html.index('class="totals-live-USD"') < html.index('class="totals-demo-USD"')
    # The list still shows every deal; a filter narrows it (and the totals) to one kind.
    assert html.count('<tr><td class="when">') == 7
    only_live = get(alpha, carl, "/portal/trading/history/?kind=live").content.decode()
    assert only_live.count('<tr><td class="when">') == 4 and 'class="totals-demo-' not in only_live
    only_demo = get(alpha, carl, "/portal/trading/history/?kind=demo").content.decode()
    assert only_demo.count('<tr><td class="when">') == 3 and 'class="totals-live-' not in only_demo
    rows = rows_of(get(alpha, carl, "/portal/trading/history/export.csv?kind=demo"))
    assert {row[2] for row in rows[1:]} == {"demo"}


def test_swap_and_commission_show_zero_and_unlinked_symbols_keep_their_digits(alpha, books, carl):
    deal = books["book"](books["usd"], T0 + timedelta(days=3), symbol=None, price=D("151.4"))
    Deal.objects.filter(pk=deal.pk).update(symbol_name="USDJPY")  # a name the sync did not link to the instrument
    html = get(alpha, carl, "/portal/trading/history/?account=" + books["usd"].login).content.decode()
    row = html[html.index('<tr><td class="when">') :]
    row = row[: row.index("</tr>")]
    assert "USDJPY" in row and "151.400" in row  # the instrument of that name has 3 digits
    assert row.count(">0.00</td>") == 3  # commission, swap and profit: written, not left blank
    rows = rows_of(get(alpha, carl, "/portal/trading/history/export.csv?symbol=USDJPY"))
    assert rows[1][8] == "151.400"


@pytest.mark.parametrize(
    ("query", "tickets"),
    [
        ("kind=live", {1, 2, 3, 4}),
        ("kind=demo", {5}),
        ("type=trades", {2, 3, 4, 5}),
        ("type=balance", {1}),
        ("symbol=XAUUSD", {4}),
        ("account=ACCOUNT_USD&type=trades", {2, 3, 4}),
        ("since=2024-03-05", {3, 4, 5}),
        ("since=2024-03-05&until=2024-03-05", {3, 5}),
        ("until=2024-03-04", {1, 2}),
    ],
)
def test_filters_narrow_the_page_and_the_export_alike(alpha, books, carl, query, tickets):
    query = query.replace("ACCOUNT_USD", books["usd"].login)
    rows = rows_of(get(alpha, carl, f"/portal/trading/history/export.csv?{query}"))
    assert {int(row[3]) for row in rows[1:]} == tickets
    html = get(alpha, carl, f"/portal/trading/history/?{query}").content.decode()
    assert html.count('<tr><td class="when">') == len(tickets)
    assert f'href="/portal/trading/history/export.csv?{query.replace("&", "&amp;")}"' in html


def test_a_filter_that_matches_nothing_says_so(alpha, books, carl):
    html = get(alpha, carl, "/portal/trading/history/?symbol=XAUUSD&since=2024-03-01&until=2024-03-02").content.decode()
    assert "No deals match these filters." in html and 'class="totals-' not in html


def test_dates_in_the_wrong_order_are_a_form_error_not_an_unfiltered_list(alpha, books, carl):
    response = get(alpha, carl, "/portal/trading/history/?since=2024-03-06&until=2024-03-05")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Must be on or after the start date." in html and "Fix the filters above" in html
    assert '<tr><td class="when">' not in html
    export = get(alpha, carl, "/portal/trading/history/export.csv?since=2024-03-06&until=2024-03-05")
    assert export.status_code == 400 and b"Must be on or after the start date." in export.content


def test_the_csv_has_a_header_and_plain_numbers(alpha, books, carl):
    response = get(alpha, carl, "/portal/trading/history/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="trading-history-')
    rows = rows_of(response)
    assert rows[0] == [
        "time", "account", "kind", "ticket", "type", "entry", "symbol", "volume", "price",
        "profit", "commission", "swap", "fee", "currency", "description", "comment",
    ]  # fmt: skip
    by_ticket = {row[3]: row for row in rows[1:]}
    assert len(by_ticket) == 5 and "6" not in by_ticket  # Dana's deal is not Carl's
    assert by_ticket["2"][2] == "live" and by_ticket["5"][2] == "demo"
    assert by_ticket["2"][4:] == [
        "buy",
        "out",
        "EURUSD",
        "1.00",
        "1.08500",
        "50.25",
        "-3.50",
        "-1.20",
        "0.00",
        "USD",
        "",
        "",
    ]
    # Our wallet transfer reads by its direction; the platform's comment is kept beside it.
    assert by_ticket["1"][4:] == ["balance", "", "", "0.00", "0.00", "1000.00", "0.00", "0.00", "0.00", "USD", "Transfer from wallet", "bo-0123456789abcdef Wallet transfer"]  # fmt: skip
    assert by_ticket["4"][7:9] == ["0.10", "2345.60"]
    assert by_ticket["5"][13:] == ["EUR", "'=HYPERLINK(1)", "'=HYPERLINK(1)"]  # a spreadsheet will not run it
    assert by_ticket["2"][0].startswith("2024-03-04T")
    assert [row[3] for row in rows[1:]] == ["4", "5", "3", "2", "1"]  # newest first, as on the page


@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01"])
def test_dates_at_the_ends_of_the_calendar_are_a_form_error_not_a_500(alpha, books, carl, query):
    response = get(alpha, carl, f"/portal/trading/history/?{query}")
    assert response.status_code == 400
    assert "Choose a date between 1970-01-01 and 2999-12-31." in response.content.decode()
    assert get(alpha, carl, f"/portal/trading/history/export.csv?{query}").status_code == 400


def test_fifty_deals_a_page(alpha, books, carl):
    for minute in range(120):
        books["book"](books["usd"], T0 + timedelta(days=10, minutes=minute), profit=D("1"))
    first = get(alpha, carl, "/portal/trading/history/?type=trades").content.decode()
    assert first.count('<tr><td class="when">') == 50
    assert "Page 1 of 3 · 124 in all" in first
    assert 'href="?type=trades&page=2"' in first
    last = get(alpha, carl, "/portal/trading/history/?type=trades&page=3").content.decode()
    assert last.count('<tr><td class="when">') == 24
    assert "Page 3 of 3" in last
    # the totals cover the whole filtered set, not the page
    usd = last[last.index('class="totals-live-USD"') :]
    assert ">123<" in usd[: usd.index("</tr>")]
    assert len(rows_of(get(alpha, carl, "/portal/trading/history/export.csv?type=trades"))) == 125


def test_the_history_page_reads_as_many_queries_for_many_deals_as_for_few(alpha, books, carl):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = tenant_web_client(alpha, carl)
    web.get("/portal/trading/history/")  # warm up: the session and permission caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as done:
            assert web.get("/portal/trading/history/").status_code == 200
        return len(done)

    few = queries()
    for minute in range(60):
        books["book"](books["usd"], T0 + timedelta(days=10, minutes=minute), profit=D("1"))
    assert queries() == few


def test_a_client_with_no_deals_sees_an_empty_history(alpha, memory_platform, dana):
    html = get(alpha, dana, "/portal/trading/history/").content.decode()
    assert "No deals yet." in html and "Download CSV" not in html
