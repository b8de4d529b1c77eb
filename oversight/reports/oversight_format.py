"""How the oversight report writes values into its data: JSON types only, already as the
report prints them (times in the project's zone, decimals as text, people by name)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from oversight.metrics.definitions import percent as shared_percent


def when_text(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def day_text(day: datetime.date | None) -> str | None:
    return None if day is None else day.isoformat()


def percent(value: float | None) -> str:
    """A rate as the report prints it: the one rule of `oversight.metrics.definitions`."""
    return shared_percent(value)


def plain_number(value) -> float | int | str | None:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def person_text(user) -> str | None:
    if user is None:
        return None
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{name} ({user.get_username()})" if name else user.get_username()
