"""What a new tenant's cashier starts with: the built-in sandbox methods and a payment policy.

Run after every migration of a tenant schema; it only fills an empty table, so
an operator's own configuration is never overwritten.
"""

import secrets
from decimal import Decimal as D

from django.db import transaction

from payments.models import MethodCurrency, PaymentMethod, PaymentPolicy

# code, name, kind, provider, fee %, settings, [(currency, fixed fee, min, max)]
_METHODS = [
    (
        "card",
        "Card",
        PaymentMethod.Kind.CARD,
        "sandbox_card",
        D("2.5"),
        {},
        [("USD", D("0.30"), D("10"), D("10000")), ("EUR", D("0.30"), D("10"), D("10000")),
         ("GBP", D("0.30"), D("10"), D("10000"))],
    ),
    (
        "bank-wire",
        "Bank wire",
        PaymentMethod.Kind.BANK_WIRE,
        "bank_wire",
        D("0"),
        {"beneficiary": "Client money account", "iban": "GB33BUKB20201555555555", "bic": "BUKBGB22",
         "bank": "Sandbox Bank plc"},
        [("USD", D("0"), D("100"), D("1000000")), ("EUR", D("0"), D("100"), D("1000000")),
         ("GBP", D("0"), D("100"), D("1000000"))],
    ),
    (
        "bitcoin",
        "Bitcoin",
        PaymentMethod.Kind.CRYPTO,
        "crypto_sim",
        D("0.5"),
        {"network": "bitcoin", "confirmations": 3},
        [("BTC", D("0"), D("0.0005"), D("10"))],
    ),
    (
        "usdt-erc20",
        "USDT (ERC-20)",
        PaymentMethod.Kind.CRYPTO,
        "crypto_sim",
        D("0.5"),
        {"network": "ethereum", "confirmations": 6},
        [("USDT", D("1"), D("10"), D("100000"))],
    ),
]  # fmt: skip


def payment_defaults_ensure() -> None:
    with transaction.atomic():
        PaymentPolicy.current()
        if PaymentMethod.objects.exists():
            return
        for order, (code, name, kind, provider, fee, settings, currencies) in enumerate(_METHODS):
            method = PaymentMethod.objects.create(
                code=code,
                name=name,
                kind=kind,
                provider=provider,
                fee_percent=fee,
                settings=settings,
                webhook_secret="whsec_" + secrets.token_hex(24),
                sort_order=order * 10,
            )
            MethodCurrency.objects.bulk_create(
                MethodCurrency(method=method, currency=c, fee_fixed=f, min_amount=lo, max_amount=hi)
                for c, f, lo, hi in currencies
            )
