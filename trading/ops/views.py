"""/ops/trading/: the platforms overview, platform connections and sync problems.

Seen with trading_view; changed with trading_manage. A platform's connection itself (address,
credentials, push secret, on/off) is configuration: it needs settings_manage as well, which owners
and admins have and dealing does not. The views parse and render; writes are services.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from trading import selectors
from trading.models import Platform, SyncProblem
from trading.ops import services
from trading.ops.forms import PlatformForm
from trading.platforms import platform_check
from trading.sync.pull import platform_sync


def can_manage(request) -> bool:
    return request.user.has_perm(perm("trading_manage"))


def can_configure(request) -> bool:
    """May connect, edit, switch platforms and rotate their push secret."""
    return can_manage(request) and request.user.has_perm(perm("settings_manage"))


def configure_required(view):
    """trading_manage and settings_manage (sign-in first, like capability_required)."""

    @capability_required("trading_manage")
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm(perm("settings_manage")):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@capability_required("trading_view")
def overview(request):
    context = {
        "tab": "home",
        "platforms": selectors.platform_overview(),
        "can_manage": can_manage(request),
        "can_configure": can_configure(request),
        "volume_today": selectors.volume_today_lots(),
        "volume_today_demo": selectors.volume_today_lots(is_demo=True),
    }
    return render(request, "trading/ops/overview.html", context)


def _platform_page(request, form: PlatformForm, platform: Platform | None, *, status: int = 200):
    context = {
        "tab": "home",
        "form": form,
        "platform": platform,
        # Whether they are set, never any of their characters.
        "password_set": bool(platform and platform.manager_password),
        "secret_set": bool(platform and platform.push_secret),
        "secret_fingerprint": services.secret_fingerprint(platform.push_secret) if platform else "",
        "account_count": platform.accounts.count() if platform else 0,
    }
    return render(request, "trading/ops/platform_form.html", context, status=status)


def _platform_submit(request, platform: Platform | None):
    form = PlatformForm(request.POST or None, instance=platform)
    if request.method != "POST":
        return _platform_page(request, form, platform)
    if form.is_valid():
        try:
            saved = services.platform_save(
                platform=platform,
                values=form.values(),
                manager_password=form.cleaned_data.get("manager_password", ""),
                actor=request.user,
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect("ops:trading_home")
    return _platform_page(request, form, platform, status=400)


@configure_required
def platform_new(request):
    return _platform_submit(request, None)


@configure_required
def platform_edit(request, code: str):
    return _platform_submit(request, get_object_or_404(Platform, code=code))


@require_POST
@capability_required("trading_manage")
def platform_test(request, code: str):
    platform = get_object_or_404(Platform, code=code)
    if platform_check(platform):
        messages.success(request, f"{platform.name} answered: the connection works.")
    else:
        messages.error(request, f"{platform.name} did not answer: {platform.health_message or 'unknown error'}")
    return redirect("ops:trading_home")


@require_POST
@capability_required("trading_manage")
def platform_sync_now(request, code: str):
    platform = get_object_or_404(Platform, code=code)
    try:
        result = platform_sync(platform)
    except ApplicationError as error:
        messages.error(request, f"Sync of {platform.name} failed: {error.message}")
        return redirect("ops:trading_home")
    if result.skipped:
        messages.info(request, f"A sync of {platform.name} is running already; its results appear here shortly.")
    elif result.error:
        messages.error(request, f"Sync of {platform.name} stopped: {result.error}")
    else:
        positions = "" if result.positions is None else f", {result.positions} open positions"
        messages.success(
            request,
            f"{platform.name} synced: {result.inserted} new deals, {result.duplicates} already known{positions}.",
        )
    return redirect("ops:trading_home")


@require_POST
@configure_required
def platform_active(request, code: str):
    platform = get_object_or_404(Platform, code=code)
    is_active = request.POST.get("is_active") == "1"
    services.platform_active_set(platform=platform, is_active=is_active, actor=request.user)
    state = "switched on" if is_active else "switched off: no sync and no new accounts"
    messages.success(request, f"{platform.name} {state}.")
    return redirect("ops:trading_home")


@require_POST
@configure_required
def platform_rotate_secret(request, code: str):
    platform = get_object_or_404(Platform, code=code)
    try:
        secret = services.platform_secret_rotate(
            platform=platform, actor=request.user, replacing=request.POST.get("replacing", "")
        )
    except ApplicationError as error:  # a reload of the answer page, or a second click
        messages.warning(request, error.message)
        return redirect("ops:trading_platform", code=platform.code)
    # Shown in this response only: never stored in the session or shown again.
    response = render(
        request, "trading/ops/platform_secret.html", {"tab": "home", "platform": platform, "secret": secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@capability_required("trading_manage")
def problem_resolve(request, pk: int):
    problem = get_object_or_404(SyncProblem.objects.select_related("platform"), pk=pk)
    if services.problem_resolve(problem=problem, actor=request.user):
        messages.success(request, f"Marked resolved: {problem.get_kind_display()} {problem.subject}.")
    else:
        messages.info(request, "That problem was already resolved.")
    return redirect("ops:trading_home")
