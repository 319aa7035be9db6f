"""Adapters by provider key (`PaymentMethod.provider`): a new PSP is one class registered here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from brokerage.errors import ApplicationError
from payments.adapters.bank_wire import BankWireAdapter
from payments.adapters.base import PaymentAdapter
from payments.adapters.crypto_sim import CryptoSimAdapter
from payments.adapters.sandbox_card import SandboxCardAdapter

if TYPE_CHECKING:
    from payments.models import PaymentMethod

ADAPTERS: dict[str, type[PaymentAdapter]] = {}


def register(adapter_class: type[PaymentAdapter]) -> type[PaymentAdapter]:
    ADAPTERS[adapter_class.provider] = adapter_class
    return adapter_class


for _builtin in (SandboxCardAdapter, BankWireAdapter, CryptoSimAdapter):
    register(_builtin)


class UnknownProvider(LookupError):
    pass


class SimulatorDisabled(UnknownProvider, ApplicationError):
    """A built-in simulator asked for outside demo, debug and test runs: it would create money."""

    def __init__(self, method: PaymentMethod):
        ApplicationError.__init__(
            self,
            f"{method.name} runs on a built-in simulator, which is switched off here; "
            "the broker must connect a real provider first.",
            fields={"method": ["Not available."]},
            code="simulator_disabled",
        )


def adapter_for(method: PaymentMethod) -> PaymentAdapter:
    try:
        adapter_class = ADAPTERS[method.provider]
    except KeyError:
        raise UnknownProvider(f"No adapter is registered for provider {method.provider!r}.") from None
    if adapter_class.is_simulator and not settings.PAYMENT_SIMULATORS:
        raise SimulatorDisabled(method)
    return adapter_class(method)


def provider_choices() -> list[tuple[str, str]]:
    return [(key, adapter.label) for key, adapter in sorted(ADAPTERS.items())]
