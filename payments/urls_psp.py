"""/payments/: what providers and their hosted pages reach (no portal sign-in)."""

from django.urls import path

from payments import webhooks
from payments.adapters import views as sandbox_views

urlpatterns = [
    path("webhooks/<slug:method_code>/", webhooks.webhook_endpoint, name="payments_webhook"),
    path("sandbox/card/<str:token>/", sandbox_views.sandbox_card_checkout, name="sandbox_card_checkout"),
]
