"""Payment methods and the payment policy in /ops/payments/methods/.

Seen with payments_view, changed with payments_manage; every change is audited by the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.fields import mask
from brokerage.money import quantize
from brokerage.permissions import capability_required
from brokerage.roles import perm
from payments.models import PaymentMethod, PaymentPolicy
from payments.wallets.forms import MethodCurrencyFormSet, MethodForm, PolicyForm
from payments.wallets.services import CurrencyLimits, method_secret_rotate, method_update, policy_update


@capability_required("payments_view")
def methods_page(request):
    methods = PaymentMethod.objects.prefetch_related("currencies")
    context = {
        "tab": "methods",
        "methods": [(method, mask(method.webhook_secret)) for method in methods],
        "policy": PaymentPolicy.current(),
        "can_manage": request.user.has_perm(perm("payments_manage")),
    }
    return render(request, "payments/wallets/methods.html", context)


def _currency_rows(formset) -> list[CurrencyLimits]:
    return [
        CurrencyLimits(
            currency=form.cleaned_data["currency"],
            fee_fixed=form.cleaned_data["fee_fixed"],
            min_amount=form.cleaned_data["min_amount"],
            max_amount=form.cleaned_data["max_amount"],
        )
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


@capability_required("payments_manage")
def method_edit(request, code: str):
    method = get_object_or_404(PaymentMethod, code=code)
    initial = [
        {
            "currency": c.currency,
            "fee_fixed": quantize(c.fee_fixed, c.currency),
            "min_amount": quantize(c.min_amount, c.currency),
            "max_amount": quantize(c.max_amount, c.currency),
        }
        for c in method.currencies.order_by("currency")
    ]
    # 2.5000 shows as 2.5 (and 10.0000 as 10, not 1E+1); no precision is lost.
    fee = Decimal(f"{method.fee_percent.normalize():f}")
    form = MethodForm(request.POST or None, instance=method, initial={"fee_percent": fee})
    formset = MethodCurrencyFormSet(request.POST or None, initial=initial, prefix="currencies")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            method_update(
                method=method,
                deposits_enabled=form.cleaned_data["deposits_enabled"],
                withdrawals_enabled=form.cleaned_data["withdrawals_enabled"],
                fee_percent=form.cleaned_data["fee_percent"],
                currencies=_currency_rows(formset),
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{method.name} saved.")
            return redirect("ops:payments_methods")
    context = {
        "tab": "methods",
        "method": method,
        "form": form,
        "formset": formset,
        "secret": mask(method.webhook_secret),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "payments/wallets/method_edit.html", context, status=status)


@require_POST
@capability_required("payments_manage")
def method_rotate_secret(request, code: str):
    method = get_object_or_404(PaymentMethod, code=code)
    secret = method_secret_rotate(method=method, actor=request.user)
    # Shown in this response only: never stored in the session or shown again.
    response = render(
        request, "payments/wallets/method_secret.html", {"tab": "methods", "method": method, "secret": secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@capability_required("payments_manage")
def policy_edit(request):
    policy = PaymentPolicy.current()
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            policy_update(**{name: form.cleaned_data[name] for name in PolicyForm.Meta.fields}, actor=request.user)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Payment policy saved.")
            return redirect("ops:payments_methods")
    status = 400 if request.method == "POST" else 200
    return render(request, "payments/wallets/policy_edit.html", {"tab": "methods", "form": form}, status=status)
