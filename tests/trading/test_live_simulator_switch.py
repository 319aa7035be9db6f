"""The built-in simulator may hold live accounts only where it is switched on (demo, debug, test, staging)."""

import pytest
from django.test import override_settings

from brokerage.errors import ApplicationError
from trading import services
from trading.defaults import platforms_ensure
from trading.models import Platform, TradingAccount


@pytest.fixture
def client_row(carl, in_alpha):
    return carl.client


@override_settings(TRADING_LIVE_SIMULATOR=False)
def test_a_live_account_on_the_simulator_is_refused_when_switched_off(client_row, carl):
    with pytest.raises(ApplicationError, match="cannot hold live accounts here"):
        services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert not TradingAccount.objects.exists()
    platform = Platform.objects.get(code="sim-live")
    assert platform.health == Platform.Health.ERROR and "BROKERAGE_TRADING_SIMULATOR" in platform.health_message


@override_settings(TRADING_LIVE_SIMULATOR=False)
def test_demo_accounts_still_use_the_simulator_when_live_is_switched_off(client_row, carl):
    account = services.account_open(client=client_row, is_demo=True, leverage=100, currency="USD", actor=carl)
    assert account.balance > 0


@override_settings(TRADING_LIVE_SIMULATOR=False)
def test_a_new_tenant_gets_its_live_simulator_switched_off(in_alpha):
    Platform.objects.filter(code="sim-live").delete()
    platforms_ensure()
    assert Platform.objects.get(code="sim-live").is_active is False
    assert Platform.objects.get(code="sim-demo").is_active is True
