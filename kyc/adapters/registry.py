"""Vendors by provider key (`KycSettings.provider`), built with the tenant's decrypted secrets."""

from __future__ import annotations

from kyc.adapters.base import KycVendor
from kyc.adapters.builtin import BuiltinVendor
from kyc.adapters.onfido import OnfidoVendor
from kyc.adapters.sumsub import SumsubVendor
from kyc.models import KycSettings
from kyc.settings_services import vendor_credentials

VENDORS: dict[str, type[KycVendor]] = {
    vendor.provider: vendor for vendor in (BuiltinVendor, SumsubVendor, OnfidoVendor)
}


def vendor_for(settings: KycSettings) -> KycVendor:
    """The tenant's vendor, with the secrets the settings page stored encrypted (decrypted here, for
    the call that needs them, never kept)."""
    credentials = vendor_credentials(settings)
    return VENDORS[settings.provider](webhook_secret=credentials.webhook_secret, api_token=credentials.api_token)
