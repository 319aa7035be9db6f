"""/kyc/webhooks/: what KYC vendors reach (no sign-in; the signature authenticates)."""

from django.urls import path

from kyc import webhooks

urlpatterns = [path("<slug:provider>/", webhooks.vendor_webhook, name="kyc_vendor_webhook")]
