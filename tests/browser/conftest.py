"""Playwright against the live server: the system Chromium, tenant hosts under *.localhost.

Chromium resolves every `*.localhost` name to loopback, so `http://alpha.localhost:<port>/`
reaches the live server as tenant alpha and `http://localhost:<port>/` as the platform.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import tenant_context

from tests import factories

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    """Everything in this folder drives a browser."""
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


@pytest.fixture
def page(page, request):
    """The test's page, with short timeouts; a failing test leaves FAILED-<test>.png behind."""
    page.set_default_timeout(5_000)
    page.set_default_navigation_timeout(10_000)
    yield page
    if getattr(request.node, "browser_test_failed", False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for number, open_page in enumerate(page.context.pages):
            name = re.sub(r"\W+", "-", request.node.name).strip("-")
            open_page.screenshot(path=str(SCREENSHOTS / f"FAILED-{name}-{number}.png"), full_page=True)


class Site:
    """URLs of the live server under a tenant's host (or the platform's)."""

    def __init__(self, live_server):
        self.port = urlsplit(live_server.url).port

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def tenant(self, slug: str, path: str = "/") -> str:
        return self.url(f"{slug}.localhost", path)

    def console(self, path: str = "/") -> str:
        return self.url("localhost", path)


@pytest.fixture
def site(live_server) -> Site:
    return Site(live_server)


@pytest.fixture(scope="session", autouse=True)
def _no_stale_failure_screenshots():
    for stale in SCREENSHOTS.glob("FAILED-*.png"):
        stale.unlink()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves a full-page PNG to test-artifacts/screenshots/name.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass
class StaffLogin:
    user: object
    totp_secret: str

    def totp_code(self) -> str:
        from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

        return format_hotp_value(hotp_value(self.totp_secret, int(time.time()) // 30))


def staff_with_totp(tenant, email: str, roles: list[str]) -> StaffLogin:
    """A staff user (tests.factories) with TOTP set up on a secret of their own.

    Not factories.TOTP_SECRET: allauth remembers a used code in the cache per user id and
    code for a period, the cache (Redis, prefix "test") outlives the test and is shared with
    every other test run on this machine, and ids restart at 1 in each transactional test.
    With the shared secret, "user 1"'s code may already count as used and is refused.
    """
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    with tenant_context(tenant):
        user = factories.staff_user(email, roles=roles, mfa=False)
        TOTP.activate(user, secret)
    return StaffLogin(user, secret)


def sign_in(page, url: str, email: str, password: str = factories.PASSWORD) -> None:
    """Fill allauth's sign-in form at url (which must show it)."""
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def enter_totp(page, staff: StaffLogin) -> None:
    """Answer allauth's two-factor step with the user's current code."""
    page.get_by_label("Code").fill(staff.totp_code())
    page.get_by_role("button", name="Sign In").click()
