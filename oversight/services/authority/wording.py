"""How people and moments are named in authority messages and reports."""

import datetime

from django.utils import timezone


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


def moment_label(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def day_label(day: datetime.date) -> str:
    """E.g. "3 Mar 2026": a day as people write it."""
    return f"{day.day} {day:%b %Y}"
