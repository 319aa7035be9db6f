"""Where a withdrawal may go: bank accounts, crypto addresses, the client's own card.

Each check returns the destination in a normal form (what is stored on the
withdrawal and sent to the PSP) or raises an ApplicationError naming the field.

Ethereum addresses in mixed case carry an EIP-55 checksum, which is computed
with Keccak-256. Python's hashlib `sha3_256` is the later NIST SHA-3 and gives
other digests, so the Keccak from pycryptodome is used.
"""

from __future__ import annotations

import re
from typing import NoReturn

import base58
import bech32
from Crypto.Hash import keccak
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from brokerage.errors import ApplicationError
from payments.models import Deposit, PaymentMethod

Kind = PaymentMethod.Kind


def _refuse(field: str, message: str) -> NoReturn:
    raise ApplicationError(message, fields={field: [message]})


# Bank wire ----------------------------------------------------------------------------------------


def bank_account_clean(*, iban: str, bic: str, holder: str) -> dict:
    """A valid IBAN, a valid BIC of a bank in the IBAN's country, and the account holder's name."""
    try:
        account = IBAN(iban or "")
    except SchwiftyException as error:
        _refuse("iban", f"This is not a valid IBAN ({error}).")
    try:
        bank = BIC(bic or "")
    except SchwiftyException as error:
        _refuse("bic", f"This is not a valid BIC ({error}).")
    if bank.country_code != account.country_code:
        _refuse(
            "bic", f"The BIC is of a bank in {bank.country_code}, the IBAN of an account in {account.country_code}."
        )
    holder = " ".join((holder or "").split())
    if len(holder) < 2:
        _refuse("holder", "Give the account holder's name as the bank knows it.")
    if len(holder) > 140:
        _refuse("holder", "At most 140 characters.")
    return {"iban": account.compact, "bic": bank.compact, "holder": holder}


# Crypto -------------------------------------------------------------------------------------------

_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


def _segwit_program(address: str) -> tuple[int, bytes] | None:
    """Decode a bech32 (witness v0) or bech32m (v1+, BIP-350) mainnet address; None if it is not one.

    The bech32 package checks only the original bech32 checksum, so the
    checksum constant is checked here against the witness version, as BIP-350 says.
    """
    if address.lower() != address and address.upper() != address:
        return None  # mixed case is never valid
    address = address.lower()
    hrp, separator, rest = address.rpartition("1")
    if hrp != "bc" or not separator or len(address) > 90 or len(rest) < 7:
        return None
    if any(char not in bech32.CHARSET for char in rest):
        return None
    data = [bech32.CHARSET.find(char) for char in rest]
    constant = bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data)
    version, payload = data[0], data[1:-6]
    if version > 16 or constant != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return None
    program = bech32.convertbits(payload, 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    return version, bytes(program)


def _base58_version(address: str) -> int | None:
    try:
        raw = base58.b58decode_check(address)
    except ValueError:
        return None
    return raw[0] if len(raw) == 21 else None


def bitcoin_address_clean(address: str) -> str:
    """A mainnet address: P2PKH (1...), P2SH (3...), SegWit v0 (bc1q...) or Taproot and later (bc1p...)."""
    address = address.strip()
    if address[:3].lower() == "bc1":
        if _segwit_program(address) is None:
            _refuse("address", "This is not a valid Bitcoin address (bad bech32 checksum or format).")
        return address.lower()
    if _base58_version(address) not in (0x00, 0x05):
        _refuse("address", "This is not a valid Bitcoin address.")
    return address


def _eip55(hex_address: str) -> str:
    """The checksummed form of a 40-hex-digit address (EIP-55)."""
    lower = hex_address.lower()
    digest = keccak.new(digest_bits=256, data=lower.encode()).hexdigest()
    return "".join(char.upper() if int(bit, 16) >= 8 else char for char, bit in zip(lower, digest[:40], strict=True))


def ethereum_address_clean(address: str) -> str:
    """0x + 40 hex digits; in mixed case the EIP-55 checksum must hold. Stored checksummed."""
    address = address.strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        _refuse("address", "An Ethereum address is 0x followed by 40 hexadecimal digits.")
    digits = address[2:]
    checksummed = _eip55(digits)
    if digits not in (digits.lower(), digits.upper()) and digits != checksummed:
        _refuse("address", "The address's capital letters do not match its checksum (EIP-55): check for a typo.")
    return "0x" + checksummed


_NETWORKS = {"bitcoin": bitcoin_address_clean, "ethereum": ethereum_address_clean}


def crypto_address_clean(*, network: str, address: str) -> dict:
    check = _NETWORKS.get(network)
    if check is None:
        raise ApplicationError(f"Payouts on the {network or 'unnamed'} network are not supported.", code="network")
    return {"network": network, "address": check(address or "")}


# Card ---------------------------------------------------------------------------------------------


def card_sources(client, method: PaymentMethod, currency: str) -> list[Deposit]:
    """The client's completed deposits with this card method and currency, latest first (one per card)."""
    deposits = Deposit.objects.filter(
        client=client, method=method, currency=currency, status=Deposit.Status.COMPLETED
    ).order_by("-completed_at", "-id")
    seen: set[str] = set()
    sources = []
    for deposit in deposits:
        label = deposit.source_label or str(deposit.public_id)
        if label not in seen:
            seen.add(label)
            sources.append(deposit)
    return sources


def card_source_clean(*, client, method: PaymentMethod, currency: str, deposit_id: str) -> dict:
    """Cards are paid back to a card the client deposited with: the payout refers to that deposit."""
    sources = card_sources(client, method, currency)
    if not sources:
        _refuse("card", f"Card withdrawals go back to a card you deposited {currency} with; you have none.")
    chosen = next((d for d in sources if str(d.public_id) == str(deposit_id)), None) if deposit_id else sources[0]
    if chosen is None:
        _refuse("card", "Choose one of the cards you deposited with.")
    return {"deposit": str(chosen.public_id), "card": chosen.source_label}


def destination_clean(*, client, method: PaymentMethod, currency: str, data: dict) -> dict:
    """The destination for the method's kind, checked and normalised."""
    data = {key: str(value) for key, value in (data or {}).items() if value is not None}
    if method.kind == Kind.BANK_WIRE:
        return bank_account_clean(iban=data.get("iban", ""), bic=data.get("bic", ""), holder=data.get("holder", ""))
    if method.kind == Kind.CRYPTO:
        return crypto_address_clean(network=method.settings.get("network", ""), address=data.get("address", ""))
    if method.kind == Kind.CARD:
        return card_source_clean(client=client, method=method, currency=currency, deposit_id=data.get("card", ""))
    raise ApplicationError(f"{method} cannot pay out.", code="method")


def destination_label(destination: dict) -> str:
    """One line for lists: the account, address or card the money goes to."""
    if "iban" in destination:
        return f"{destination['iban']} ({destination.get('holder', '')})"
    if "address" in destination:
        return destination["address"]
    if "card" in destination:
        return destination["card"] or "Card used to deposit"
    return ""
