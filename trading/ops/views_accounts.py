"""/ops/trading/accounts/: search, an account's page, and the changes that go to the platform."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from payments.models import TradingTransfer
from payments.trading_gateway import PlatformUnavailable
from trading import selectors, services
from trading.models import Position, TradingAccount, TradingPolicy
from trading.ops import services as ops_services
from trading.ops.forms import AccountFilterForm, DisableForm, GroupForm, LeverageForm
from trading.ops.views import can_manage


@capability_required("trading_view")
def account_list(request):
    form = AccountFilterForm(request.GET or None)
    accounts = selectors.account_list(**form.filters())
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"tab": "accounts", "form": form, "page": page, "query": query.urlencode()}
    template = "trading/ops/_account_rows.html" if request.htmx else "trading/ops/accounts.html"
    return render(request, template, context)


def _account(login: str) -> TradingAccount:
    return get_object_or_404(selectors.account_list(), login=login)


def _account_page(
    request,
    account: TradingAccount,
    *,
    leverage_form=None,
    group_form=None,
    disable_form=None,
    projection=None,
    status: int = 200,
):
    policy = TradingPolicy.current()
    positions = Position.objects.filter(account=account).select_related("symbol").order_by("-opened_at")
    context = {
        "tab": "accounts",
        "account": account,
        "policy": policy,
        "positions": positions,
        "floating": selectors.floating_by_currency(positions),
        "deals": selectors.deal_search(login=account.login, platform=account.platform).select_related(
            "symbol", "account"
        )[:20],
        "transfers": TradingTransfer.objects.filter(account_login=account.login).order_by("-created_at")[:20],
        "can_manage": can_manage(request),
        "leverage_form": leverage_form or LeverageForm(initial={"leverage": account.leverage}, policy=policy),
        "projection": projection,
        "group_form": group_form or GroupForm(initial={"group": account.group}),
        "disable_form": disable_form or DisableForm(),
        "disabled": ops_services.disable_reason(account),
    }
    return render(request, "trading/ops/account_detail.html", context, status=status)


@capability_required("trading_view")
def account_detail(request, login: str):
    return _account_page(request, _account(login))


def _refused(request, account: TradingAccount, error: ApplicationError) -> None:
    if isinstance(error, PlatformUnavailable):
        messages.error(
            request,
            f"{account.platform.name} did not answer ({error.message}). Nothing was changed here; "
            "try again when the platform is back.",
        )
    else:
        messages.error(request, f"Not changed: {error.message}")


@require_POST
@capability_required("trading_manage")
def account_leverage(request, login: str):
    account = _account(login)
    form = LeverageForm(request.POST, policy=TradingPolicy.current())
    if not form.is_valid():
        return _account_page(request, account, leverage_form=form, status=400)
    before = account.leverage
    try:
        _, projection = ops_services.account_leverage_set(
            account, leverage=form.cleaned_data["leverage"], confirm=form.cleaned_data["confirm"], actor=request.user
        )
    except ops_services.LeverageNeedsConfirmation as error:
        form.add_error("confirm", error.message)
        return _account_page(request, account, leverage_form=form, projection=error.projection, status=400)
    except ApplicationError as error:
        if error.fields.get("leverage"):
            error.add_to_form(form)
            return _account_page(request, account, leverage_form=form, status=400)
        _refused(request, account, error)
    else:
        if account.leverage == before:
            messages.info(request, f"Leverage is already 1:{before}.")
        else:
            level = ""
            if projection is not None and projection.margin_level is not None:
                level = f" Projected margin level: {projection.margin_level:.2f} %."
            messages.success(
                request, f"Leverage of {account.login} changed from 1:{before} to 1:{account.leverage}.{level}"
            )
    return redirect("ops:trading_account", login=account.login)


@require_POST
@capability_required("trading_manage")
def account_group(request, login: str):
    account = _account(login)
    form = GroupForm(request.POST)
    if not form.is_valid():
        return _account_page(request, account, group_form=form, status=400)
    before = account.group
    try:
        services.account_group_change(account, group=form.cleaned_data["group"], actor=request.user)
    except ApplicationError as error:
        if error.fields.get("group"):
            error.add_to_form(form)
            return _account_page(request, account, group_form=form, status=400)
        _refused(request, account, error)
    else:
        messages.success(request, f"Group of {account.login} changed from {before} to {account.group}.")
    return redirect("ops:trading_account", login=account.login)


@require_POST
@capability_required("trading_manage")
def account_status(request, login: str):
    account = _account(login)
    enabled = request.POST.get("enabled") == "1"
    reason = ""
    if not enabled:
        form = DisableForm(request.POST)
        if not form.is_valid():
            return _account_page(request, account, disable_form=form, status=400)
        reason = form.cleaned_data["reason"]
    try:
        ops_services.account_status_change(account, enabled=enabled, reason=reason, actor=request.user)
    except ApplicationError as error:
        if error.fields.get("reason"):
            form.add_error("reason", error.fields["reason"][0])
            return _account_page(request, account, disable_form=form, status=400)
        _refused(request, account, error)
    else:
        state = "enabled" if enabled else "disabled on the platform"
        messages.success(request, f"Account {account.login} {state}.")
    return redirect("ops:trading_account", login=account.login)


@require_POST
@capability_required("trading_manage")
def account_refresh(request, login: str):
    account = _account(login)
    try:
        services.account_state_refresh(account)
    except ApplicationError as error:
        _refused(request, account, error)
    else:
        messages.success(request, f"State of {account.login} refreshed from {account.platform.name}.")
    return redirect("ops:trading_account", login=account.login)
