"""Every segment criterion over the handmade book of tests/crm/support_segments.py."""

from __future__ import annotations

import pytest

from brokerage.errors import ApplicationError
from crm.models import Client
from crm.segment_criteria import criteria_available, criteria_clean, criteria_describe, criteria_q
from tests.crm.support_segments import book_make, money_make, trading_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(in_alpha):
    book = book_make()
    money_make(book)
    trading_make(book)
    return book


def members(*criteria) -> set[str]:
    query = criteria_q([{"key": key, "params": params} for key, params in criteria])
    return {client.first_name.lower() for client in Client.objects.filter(query)}


@pytest.mark.parametrize(
    ("key", "params", "expected"),
    [
        ("status_in", {"statuses": ["funded", "active"]}, {"ann", "cid"}),
        ("country_in", {"countries": ["GB"]}, {"ben", "dee"}),
        ("language_in", {"languages": ["de", "fr"]}, {"ann", "cid"}),
        ("source_in", {"sources": ["ib", "import"]}, {"ben", "cid"}),
        ("tag_has", {"tag": "vip"}, {"ann", "cid"}),
        ("tag_has", {"tag": " High  Roller "}, {"cid"}),
        # Eve signed up (registered) and keeps the default stage "new": she is not in the pipeline.
        ("lead_stage_in", {"stages": ["contacted", "new"]}, {"ben"}),
        ("lead_stage_in", {"stages": ["converted"]}, {"ann", "cid", "dee"}),
        ("kyc_status_in", {"kyc_statuses": ["approved"]}, {"ann", "cid"}),
        ("risk_level_in", {"risk_levels": ["low"]}, {"ann", "eve"}),
        ("created_within", {"days": 80}, {"ben", "eve"}),
        ("deposited_within", {"days": 7}, {"ann"}),
        ("deposited_within", {"days": 45}, {"ann", "dee"}),
        ("first_deposit_within", {"days": 30}, {"ann"}),
        ("never_deposited", {}, {"ben", "eve"}),
        ("never_traded", {}, {"ann", "ben", "eve"}),
        ("traded_within", {"days": 30}, {"dee"}),
        ("traded_within", {"days": 100}, {"cid", "dee"}),
        # Cid's last activity is 90 days old; Eve (70 days, never active) and nobody newer.
        ("dormant_for", {"days": 60}, {"cid", "eve"}),
        ("dormant_for", {"days": 80}, {"cid"}),
        # Wallet plus trading funds, in the currency asked, strictly above.
        ("balance_above", {"amount": "1000", "currency": "USD"}, {"ann", "cid"}),
        ("balance_above", {"amount": "999.98", "currency": "USD"}, {"ann", "cid", "dee"}),
        ("balance_above", {"amount": "1100", "currency": "USD"}, {"ann"}),
        ("balance_above", {"amount": "1000", "currency": "EUR"}, {"ben"}),
        # Completed deposits only (Ben's failed one never counts), in the currency, in the window.
        ("deposited_more_than", {"amount": "1000", "currency": "USD", "days": 30}, {"ann"}),
        ("deposited_more_than", {"amount": "1000", "currency": "USD", "days": 7}, set()),
        ("deposited_more_than", {"amount": "1000", "currency": "USD", "days": 60}, {"ann", "cid"}),
        ("deposited_more_than", {"amount": "1000", "currency": "EUR", "days": 30}, {"dee"}),
        # Buy and sell deals of live accounts: Ann 8 lots this month (balance and demo deals never count).
        ("volume_above", {"lots": "5", "days": 30}, {"ann"}),
        ("volume_above", {"lots": "8", "days": 30}, set()),
        ("volume_above", {"lots": "7.99", "days": 30}, {"ann"}),
        ("volume_above", {"lots": "10", "days": 60}, {"cid"}),
        ("volume_above", {"lots": "0", "days": 4}, {"ann"}),
        ("has_live_account", {}, {"ann", "cid", "dee"}),
        ("has_open_positions", {}, {"cid"}),
    ],
)
def test_each_criterion_picks_exactly_its_clients(book, key, params, expected):
    assert members((key, params)) == expected


def test_sales_agent_is_a_person_or_nobody(book):
    assert members(("sales_agent_is", {"agent": str(book.sam.pk)})) == {"ann", "eve"}
    assert members(("sales_agent_is", {"agent": "none"})) == {"ben", "dee"}


def test_criteria_combine_with_and(book):
    assert members(("deposited_within", {"days": 7}), ("never_traded", {})) == {"ann"}
    assert members(("country_in", {"countries": ["GB"]}), ("has_live_account", {})) == {"dee"}
    assert members(("tag_has", {"tag": "vip"}), ("volume_above", {"lots": "10", "days": 60})) == {"cid"}
    assert (
        members(("balance_above", {"amount": "1000", "currency": "USD"}), ("status_in", {"statuses": ["lead"]}))
        == set()
    )


def test_every_criterion_is_registered_with_a_group():
    keys = {criterion.key: criterion.group for criterion in criteria_available()}
    assert {"balance_above": "Money", "volume_above": "Trading", "dormant_for": "Activity"}.items() <= keys.items()
    assert len(keys) >= 21


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "A segment needs at least one criterion."),
        ("nonsense", "A segment needs at least one criterion."),
        ([{"key": "no_such"}], "Criterion 1: unknown criterion 'no_such'."),
        (
            [{"key": "never_traded"}, {"key": "deposited_within", "params": {"days": "seven"}}],
            "Criterion 2 (Deposited in the last N days): Days: enter a whole number.",
        ),
        ([{"key": "deposited_within", "params": {"days": 0}}], "Days: must be at least 1."),
        ([{"key": "dormant_for", "params": {"days": 10**9}}], "Days: must be at most 36,500."),
        (
            [{"key": "volume_above", "params": {"lots": "lots", "days": 30}}],
            "Lots: enter a number like 1000 or 250.50.",
        ),
        ([{"key": "volume_above", "params": {"lots": "-1", "days": 30}}], "Lots: enter a number between 0"),
        (
            [{"key": "balance_above", "params": {"amount": "NaN", "currency": "USD"}}],
            "Amount: enter a number between 0",
        ),
        (
            [{"key": "balance_above", "params": {"amount": "10", "currency": "XXX"}}],
            "Currency: choose one of the listed values.",
        ),
        ([{"key": "status_in", "params": {"statuses": []}}], "Statuses: choose at least one of the listed values."),
        (
            [{"key": "country_in", "params": {"countries": ["ZZ"]}}],
            "Countries: choose at least one of the listed values.",
        ),
        ([{"key": "tag_has", "params": {"tag": "   "}}], "Tag: enter a value."),
        ([{"key": "sales_agent_is", "params": {"agent": "999999"}}], "Sales agent: choose one of the listed values."),
    ],
)
def test_invalid_criteria_are_refused_with_a_clear_message(in_alpha, criteria, message):
    with pytest.raises(ApplicationError) as caught:
        criteria_clean(criteria)
    assert message in caught.value.message
    assert caught.value.fields["criteria"]


def test_clean_types_the_values_and_describe_reads_them(in_alpha):
    cleaned = criteria_clean(
        [
            {"key": "volume_above", "params": {"lots": "10", "days": "30"}},
            {"key": "status_in", "params": {"statuses": ["funded", "funded", "active"]}},
            {"key": "balance_above", "params": {"amount": "1,000", "currency": "USD"}},
        ]
    )
    assert cleaned == [
        {"key": "volume_above", "params": {"lots": "10", "days": 30}},
        {"key": "status_in", "params": {"statuses": ["funded", "active"]}},
        {"key": "balance_above", "params": {"amount": "1000", "currency": "USD"}},
    ]
    assert criteria_describe(cleaned) == [
        "Volume above 10 lots in the last 30 days",
        "Status is Funded, Active",
        "Balance above 1,000 USD (wallet and trading funds)",
    ]
    assert criteria_describe([{"key": "gone"}]) == ["(criterion 'gone' no longer exists)"]
