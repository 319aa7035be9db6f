from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.urls import reverse

from brokerage.branding import brand_name, signup_open


def _site(request) -> SimpleNamespace:
    """What allauth's emails call the "site": the tenant's brand on the tenant's domain."""
    return SimpleNamespace(name=brand_name(request), domain=request.get_host() if request else "")


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up is for clients on a tenant's portal; the operator console has no sign-up.

    Emails carry the tenant's brand rather than a host name.
    """

    def is_open_for_signup(self, request) -> bool:
        return signup_open(request)

    def get_login_redirect_url(self, request) -> str:
        return reverse("home")

    def format_email_subject(self, subject: str) -> str:
        return f"[{_site(context.request).name}] {subject}"

    def send_mail(self, template_prefix: str, email: str, context_data: dict) -> None:
        context_data = {**context_data, "current_site": _site(context.request)}
        super().send_mail(template_prefix, email, context_data)
