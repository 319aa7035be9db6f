from allauth.account.models import EmailAddress
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_countries import countries

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from crm import portal_profile, sms
from crm.models import Client
from crm.phones import phone_display
from crm.portal_forms import ContactForm, EmailForm, PhoneCodeForm, PhoneForm


@capability_required("portal_access")
def portal_home(request):
    """The client's overview; its next steps follow where they are (wallet funded? live account? funded?)."""
    client = Client.objects.filter(user=request.user).first()
    progress = {}
    if client is not None:
        # Two small aggregates over the client's own rows, through the reverse relations of the
        # payments ledger and the trading accounts.
        money = client.ledger_accounts.aggregate(
            wallet=Count("id", filter=Q(kind="client_wallet", balance__gt=0)),
            trading=Count("id", filter=Q(kind="client_trading", balance__gt=0)),
        )
        accounts = client.trading_accounts.aggregate(
            live=Count("id", filter=Q(is_demo=False)), demo=Count("id", filter=Q(is_demo=True))
        )
        progress = {
            "wallet_funded": bool(money["wallet"] or money["trading"]),
            "trading_funded": bool(money["trading"]),
            "has_live": bool(accounts["live"]),
            "has_demo": bool(accounts["demo"]),
        }
    return render(request, "portal/home.html", {"client": client, "progress": progress})


# Profile ------------------------------------------------------------------------------------------
# Every view reads the signed-in person's own client record: no id ever comes from the request.


def _own_client(request) -> Client:
    return get_object_or_404(Client, user=request.user)


def _profile_page(request, client: Client, *, status: int = 200, **forms):
    pending_phone = portal_profile.phone_change_pending(client)
    contact_initial = {name: getattr(client, name) for name in portal_profile.CONTACT_FIELDS}
    context = {
        "client": client,
        "phone_display": phone_display(client.phone),
        "nationality_name": countries.name(client.nationality) if client.nationality else "",
        "country_name": countries.name(client.country) if client.country else "",
        "contact_form": forms.get("contact_form")
        or ContactForm(initial=contact_initial, current_timezone=client.timezone),
        "phone_form": forms.get("phone_form") or PhoneForm(),
        "code_form": forms.get("code_form") or PhoneCodeForm(),
        "email_form": forms.get("email_form") or EmailForm(),
        "pending_phone": pending_phone,
        # While a code is on its way the new-number form hides behind "Use another number".
        "show_phone_form": pending_phone is None or "phone_form" in forms or request.GET.get("phone") == "another",
        "pending_emails": portal_profile.email_pending(request.user),
        "sandbox_sms": sms.sandbox_last_message(pending_phone.phone) if pending_phone else None,
    }
    return render(request, "portal/profile.html", context, status=status)


@capability_required("portal_access")
def profile(request):
    return _profile_page(request, _own_client(request))


@require_POST
@capability_required("portal_access")
def profile_contact(request):
    client = _own_client(request)
    form = ContactForm(request.POST, current_timezone=client.timezone)
    if form.is_valid():
        try:
            portal_profile.client_contact_update(actor=request.user, client=client, changes=form.cleaned_data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Your details are saved.")
            return redirect("portal:profile")
    return _profile_page(request, client, status=400, contact_form=form)


@require_POST
@capability_required("portal_access")
def profile_phone(request):
    client = _own_client(request)
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            pending = portal_profile.phone_change_start(client=client, phone=form.cleaned_data["phone"])
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"We sent a 6-digit code to {pending.display}. Enter it below.")
            return redirect("portal:profile")
    return _profile_page(request, client, status=400, phone_form=form)


@require_POST
@capability_required("portal_access")
def profile_phone_confirm(request):
    client = _own_client(request)
    form = PhoneCodeForm(request.POST)
    if form.is_valid():
        try:
            client = portal_profile.phone_change_confirm(
                actor=request.user, client=client, code=form.cleaned_data["code"]
            )
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, f"Your phone number is now {phone_display(client.phone)}.")
            return redirect("portal:profile")
    return _profile_page(request, client, status=400, code_form=form)


@require_POST
@capability_required("portal_access")
def profile_phone_resend(request):
    client = _own_client(request)
    try:
        pending = portal_profile.phone_change_resend(client=client)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"We sent a new code to {pending.display}.")
    return redirect("portal:profile")


@require_POST
@capability_required("portal_access")
def profile_phone_cancel(request):
    portal_profile.phone_change_cancel(client=_own_client(request))
    messages.info(request, "The phone change is cancelled; your number stays as it was.")
    return redirect("portal:profile")


@require_POST
@capability_required("portal_access")
def profile_email(request):
    client = _own_client(request)
    form = EmailForm(request.POST)
    if form.is_valid():
        try:
            portal_profile.email_change_start(request=request, client=client, email=form.cleaned_data["email"])
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            return redirect("portal:profile")  # allauth has added its "confirmation sent" message
    return _profile_page(request, client, status=400, email_form=form)


def _own_address(request) -> EmailAddress:
    """One of the signed-in person's own not-primary addresses, or 404."""
    address_id = request.POST.get("address", "")
    if not address_id.isdigit():
        raise Http404("No such address")
    return get_object_or_404(EmailAddress, user=request.user, primary=False, pk=int(address_id))


def _email_action(request, service):
    _own_client(request)
    try:
        service(request=request, address=_own_address(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("portal:profile")


@require_POST
@capability_required("portal_access")
def profile_email_resend(request):
    return _email_action(request, portal_profile.email_change_resend)


@require_POST
@capability_required("portal_access")
def profile_email_cancel(request):
    return _email_action(request, portal_profile.email_change_cancel)


@require_POST
@capability_required("portal_access")
def profile_email_use(request):
    return _email_action(request, portal_profile.email_change_use)
