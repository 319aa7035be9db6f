"""Exchange rates in /ops/payments/rates/: the latest rate of every pair, ECB import, manual rates."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from payments import selectors
from payments.models import PaymentPolicy
from payments.rate_providers import ecb_fetch, ecb_import
from payments.rates import is_stale, max_age, rate_set_manually
from payments.wallets.forms import EcbUploadForm, ManualRateForm, show_refusal


def _rates_page(request, *, upload_form=None, rate_form=None, status: int = 200):
    now = timezone.now()
    rows = [
        {"rate": rate, "age": now - rate.as_of, "stale": is_stale(rate, now=now), "max_age": max_age(rate.source)}
        for rate in selectors.rates_latest()
    ]
    can_manage = request.user.has_perm(perm("payments_manage"))
    context = {
        "tab": "rates",
        "rows": rows,
        "policy": PaymentPolicy.current(),
        "upload_form": (upload_form or EcbUploadForm()) if can_manage else None,
        "rate_form": (rate_form or ManualRateForm()) if can_manage else None,
    }
    return render(request, "payments/wallets/rates.html", context, status=status)


@capability_required("payments_view")
def rates_page(request):
    return _rates_page(request)


@require_POST
@capability_required("payments_manage")
def rates_import(request):
    form = EcbUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload, url = form.cleaned_data.get("file"), form.url()
        try:
            content = upload.read() if upload else ecb_fetch(url)
            result = ecb_import(content, actor=request.user, origin=upload.name if upload else url)
        except ApplicationError as error:
            show_refusal(error, form)
        else:
            messages.success(request, f"ECB rates imported: {result.summary()}")
            for note in result.notes:
                messages.warning(request, note)
            return redirect("ops:payments_rates")
    return _rates_page(request, upload_form=form, status=400)


@require_POST
@capability_required("payments_manage")
def rate_set(request):
    form = ManualRateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rate = rate_set_manually(base=data["base"], quote=data["quote"], rate=data["rate"], actor=request.user)
        except ApplicationError as error:
            show_refusal(error, form)
        else:
            messages.success(request, f"{rate.base}/{rate.quote} set to {rate.rate.normalize():f}.")
            return redirect("ops:payments_rates")
    return _rates_page(request, rate_form=form, status=400)
