"""Text messages to clients behind one small interface, like email backends.

`settings.BROKERAGE_SMS_BACKEND` names the class (default: the sandbox, which sends nothing).
- `SandboxBackend`: logs that a message would go out and keeps the last one per number for a
  while, so the demo can show it on the page (see `sandbox_last_message`). Offline by design.
- `LocmemBackend`: appends to `crm.sms.outbox`, for tests.
A real provider is one more class with `send(message)`, named in the setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = "crm.sms.SandboxBackend"
SANDBOX_KEEP_SECONDS = 15 * 60

# What LocmemBackend "sent", oldest first (tests empty it).
outbox: list[SmsMessage] = []


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    sent_at: datetime = field(default_factory=timezone.now)


class SmsBackend:
    is_sandbox = False

    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


def _reveals_content() -> bool:
    """Codes may appear in logs and on pages only where no real client can be: demo, debug, tests."""
    return bool(settings.DEBUG or getattr(settings, "BROKERAGE_DEMO", False) or getattr(settings, "TESTING", False))


def _sandbox_key(to: str) -> str:
    return f"crm:sms:sandbox:{to}"


class SandboxBackend(SmsBackend):
    is_sandbox = True

    def send(self, message: SmsMessage) -> None:
        if _reveals_content():
            logger.info("Sandbox SMS to %s (not sent): %s", message.to, message.body)
            cache.set(_sandbox_key(message.to), message.body, SANDBOX_KEEP_SECONDS)
        else:
            logger.warning("Sandbox SMS backend: a message to %s was not sent (set BROKERAGE_SMS_BACKEND)", message.to)


class LocmemBackend(SmsBackend):
    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


def sms_backend() -> SmsBackend:
    return import_string(getattr(settings, "BROKERAGE_SMS_BACKEND", "") or DEFAULT_BACKEND)()


def sms_send(*, to: str, body: str) -> SmsMessage:
    message = SmsMessage(to=to, body=body)
    sms_backend().send(message)
    return message


def sandbox_last_message(to: str) -> str | None:
    """The last sandbox message to `to`, for the demo page; None outside demo/debug or with a real backend."""
    if not (settings.DEBUG or getattr(settings, "BROKERAGE_DEMO", False)):
        return None
    if not sms_backend().is_sandbox:
        return None
    return cache.get(_sandbox_key(to))
