"""/ops/trading/symbols/: instruments' contract terms, their aliases, and the tenant's trading policy."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from trading.models import Symbol, SymbolAlias, TradingPolicy
from trading.ops import services
from trading.ops.forms import AliasForm, SymbolForm, TradingPolicyForm
from trading.ops.views import can_manage


@capability_required("trading_view")
def symbol_list(request):
    context = {
        "tab": "symbols",
        "symbols": Symbol.objects.prefetch_related("aliases").select_related("quote").order_by("name"),
        "policy": TradingPolicy.current(),
        "can_manage": can_manage(request),
    }
    return render(request, "trading/ops/symbols.html", context)


def _symbol_page(request, symbol: Symbol, form: SymbolForm, alias_form: AliasForm, *, status: int = 200):
    context = {"tab": "symbols", "symbol": symbol, "form": form, "alias_form": alias_form}
    return render(request, "trading/ops/symbol_edit.html", context, status=status)


@capability_required("trading_manage")
def symbol_edit(request, name: str):
    symbol = get_object_or_404(Symbol, name=name)
    form = SymbolForm(request.POST or None, instance=symbol)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.symbol_update(symbol=symbol, values=form.cleaned_data, actor=request.user)
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                messages.success(request, f"{symbol.name} saved.")
                return redirect("ops:trading_symbols")
        return _symbol_page(request, symbol, form, AliasForm(), status=400)
    return _symbol_page(request, symbol, form, AliasForm())


@require_POST
@capability_required("trading_manage")
def alias_add(request, name: str):
    symbol = get_object_or_404(Symbol, name=name)
    alias_form = AliasForm(request.POST)
    if alias_form.is_valid():
        try:
            row = services.alias_add(symbol=symbol, alias=alias_form.cleaned_data["alias"], actor=request.user)
        except ApplicationError as error:
            error.add_to_form(alias_form)
        else:
            messages.success(request, f"{row.alias} now means {symbol.name}.")
            return redirect("ops:trading_symbol", name=symbol.name)
    return _symbol_page(request, symbol, SymbolForm(instance=symbol), alias_form, status=400)


@require_POST
@capability_required("trading_manage")
def alias_remove(request, name: str, alias_id: int):
    alias = get_object_or_404(SymbolAlias.objects.select_related("symbol"), pk=alias_id, symbol__name=name)
    services.alias_remove(alias=alias, actor=request.user)
    messages.success(request, f"Alias {alias.alias} removed: deals reported under it no longer resolve to {name}.")
    return redirect("ops:trading_symbol", name=name)


@capability_required("trading_manage")
def policy_edit(request):
    policy = TradingPolicy.current()
    form = TradingPolicyForm(request.POST or None, initial=TradingPolicyForm.initial_for(policy))
    if request.method == "POST" and form.is_valid():
        try:
            services.trading_policy_update(**form.cleaned_data, actor=request.user)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Trading policy saved.")
            return redirect("ops:trading_symbols")
    status = 400 if request.method == "POST" else 200
    return render(request, "trading/ops/policy_edit.html", {"tab": "symbols", "form": form}, status=status)
