"""The operator console on the platform domain: list, create, brand, suspend, reactivate tenants."""

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.money import FIAT_CURRENCY_CHOICES
from tenants import services
from tenants.models import Tenant


def operator_required(view):
    """Platform operators are the public schema's staff users."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _tenants():
    return Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).prefetch_related("domains")


class TenantCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.CharField(max_length=40, required=False, help_text="Leave empty to derive it from the name.")
    domain = forms.CharField(max_length=253, help_text="e.g. acme.localhost or backoffice.acme.com")
    admin_email = forms.EmailField(label="First admin's email")
    base_currency = forms.ChoiceField(choices=FIAT_CURRENCY_CHOICES, initial="USD")
    jurisdiction = forms.CharField(max_length=100, required=False)


class BrandingForm(forms.Form):
    display_name = forms.CharField(max_length=100, required=False)
    primary_colour = forms.CharField(max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    support_email = forms.EmailField(required=False)
    jurisdiction = forms.CharField(max_length=100, required=False)
    base_currency = forms.ChoiceField(choices=FIAT_CURRENCY_CHOICES)
    logo = forms.FileField(required=False, help_text="PNG, JPEG or WebP, up to 512 KB")


@operator_required
def tenant_list(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_provision(**form.cleaned_data, actor=request.user)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(
                request, f"{tenant.name} is live; the invitation went to {form.cleaned_data['admin_email']}."
            )
            return redirect("console:tenant_detail", slug=tenant.slug)
    return render(request, "console/tenant_list.html", {"tenants": _tenants(), "form": form})


@operator_required
def tenant_detail(request, slug: str):
    tenant = get_object_or_404(_tenants(), slug=slug)
    initial = {field: getattr(tenant, field) for field in services.BRANDING_FIELDS}
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        logo = data.pop("logo")
        try:
            services.tenant_brand(tenant=tenant, actor=request.user, logo=logo, **data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Branding saved.")
            return redirect("console:tenant_detail", slug=tenant.slug)
    return render(request, "console/tenant_detail.html", {"tenant": tenant, "form": form})


@require_POST
@operator_required
def tenant_status(request, slug: str):
    tenant = get_object_or_404(_tenants(), slug=slug)
    try:
        if request.POST.get("action") == "suspend":
            services.tenant_suspend(tenant=tenant, reason=request.POST.get("reason", ""), actor=request.user)
            messages.success(request, f"{tenant.name} is suspended.")
        else:
            services.tenant_reactivate(tenant=tenant, actor=request.user)
            messages.success(request, f"{tenant.name} is active again.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("console:tenant_detail", slug=tenant.slug)
