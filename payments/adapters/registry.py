"""Adapters by provider key (`PaymentMethod.provider`): a new PSP is one class registered here."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def adapter_for(method: PaymentMethod) -> PaymentAdapter:
    try:
        return ADAPTERS[method.provider](method)
    except KeyError:
        raise UnknownProvider(f"No adapter is registered for provider {method.provider!r}.") from None


def provider_choices() -> list[tuple[str, str]]:
    return [(key, adapter.label) for key, adapter in sorted(ADAPTERS.items())]
