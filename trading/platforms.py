"""Calls to a platform that keep its health up to date for /ops/."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.utils import timezone

from payments.trading_gateway import PlatformUnavailable, TradingGatewayError
from trading.connectors import PlatformSwitchedOff, connector_for
from trading.connectors.base import Connector
from trading.models import Platform

T = TypeVar("T")


def health_set(platform: Platform, health: str, message: str = "") -> None:
    """Record whether the platform answered. Inside a transaction that later rolls back this is lost:
    callers that hold one around a platform call record a failure again after it."""
    Platform.objects.filter(pk=platform.pk).update(
        health=health, health_message=message[:300], health_checked_at=timezone.now()
    )
    platform.health, platform.health_message = health, message[:300]


def platform_call(platform: Platform, call: Callable[[Connector], T]) -> T:
    """Run `call` with the platform's connector; record whether the server answered.

    A refusal (TradingGatewayError) is still an answer: the platform is healthy.
    """
    try:
        result = call(connector_for(platform))
    except PlatformSwitchedOff as off:
        health_set(platform, Platform.Health.ERROR, off.message)
        raise
    except PlatformUnavailable as down:
        health_set(platform, Platform.Health.ERROR, down.message)
        raise
    except TradingGatewayError:
        health_set(platform, Platform.Health.OK)
        raise
    health_set(platform, Platform.Health.OK)
    return result


def platform_check(platform: Platform) -> bool:
    """Ping the platform (the "Test connection" button and the health beat)."""
    try:
        platform_call(platform, lambda connector: connector.ping())
    except (PlatformUnavailable, TradingGatewayError) as problem:
        health_set(platform, Platform.Health.ERROR, problem.message)
        return False
    return True
