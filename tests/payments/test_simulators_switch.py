"""The built-in sandbox PSPs create money for whoever uses them: they work only where switched on."""

from decimal import Decimal as D

import pytest

from brokerage.errors import ApplicationError
from payments.adapters.registry import adapter_for
from payments.defaults import payment_defaults_ensure
from payments.models import PaymentMethod

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["card", "bitcoin", "usdt-erc20"])
def test_a_simulated_method_is_refused_when_simulators_are_off(in_alpha, settings, code):
    payment_defaults_ensure()
    settings.PAYMENT_SIMULATORS = False
    with pytest.raises(ApplicationError) as error:
        adapter_for(PaymentMethod.objects.get(code=code))
    assert error.value.code == "simulator_disabled"


def test_bank_wire_is_not_a_simulator(in_alpha, settings):
    payment_defaults_ensure()
    settings.PAYMENT_SIMULATORS = False
    assert adapter_for(PaymentMethod.objects.get(code="bank-wire")).provider == "bank_wire"


def test_a_deposit_by_a_switched_off_simulator_is_refused_and_nothing_is_written(in_alpha, settings):
    from payments.deposits.services import deposit_start
    from payments.models import Deposit
    from tests.factories import ClientFactory

    payment_defaults_ensure()
    settings.PAYMENT_SIMULATORS = False
    with pytest.raises(ApplicationError):
        deposit_start(
            client=ClientFactory(),
            method=PaymentMethod.objects.get(code="card"),
            currency="USD",
            amount=D("100.00"),
            actor=None,
        )
    assert not Deposit.objects.exists()
