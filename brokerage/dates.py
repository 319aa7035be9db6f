"""Calendar days as time ranges: where a local date starts, in the active time zone."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


def day_start(day: date) -> datetime:
    """Local midnight starting `day`, aware (the active time zone: the viewer's when one is activated)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
