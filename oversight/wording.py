"""How the reviewer's screens name things: people, moments, actions, notes with timestamps.

One place, so the queue, the decision screen and their messages never print a username where a
name belongs, a raw ISO timestamp, a time without its zone, or a machine id such as
`refund_delivery_fee` where a person reads "Refund delivery fee".
"""

import datetime
import re

from django.utils import dateformat, timezone

from oversight.services.authority.wording import person_name

__all__ = [
    "action_label",
    "clock_time",
    "local_moment",
    "moment_said",
    "person_name",
    "with_local_times",
]

# An identifier as automation writes it: no spaces, words joined by "_", "-", "." or camelCase.
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[_\-.][A-Za-z0-9]+)*$")
CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
ISO_MOMENT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\b"
)


def action_label(value) -> str:
    """An action id as a person reads it: `refund_delivery_fee` → "Refund delivery fee".

    Text that is already words (it has a space, e.g. an option "partial refund") keeps its words
    and gains a capital; an empty value stays empty.
    """
    text = str(value or "").strip()
    if not text:
        return ""
    if IDENTIFIER.match(text):
        words = re.split(r"[_\-.]+", CAMEL_BOUNDARY.sub("_", text))
        text = " ".join(word.lower() if not word.isupper() else word for word in words)
    return text[0].upper() + text[1:]


def clock_time(moment: datetime.datetime | None) -> str:
    """The time of day in the active time zone, with the zone: "14:05 CET"."""
    if moment is None:
        return "–"
    return dateformat.format(timezone.localtime(moment), "H:i T")


def local_moment(moment: datetime.datetime | None) -> str:
    """A moment in the active time zone, with the zone: "Mon 30 Nov 14:05 CET"."""
    if moment is None:
        return "–"
    return dateformat.format(timezone.localtime(moment), "D j M H:i T")


def moment_said(moment: datetime.datetime | None) -> str:
    """ "14:05 CET" for a moment of today (in the active zone), else "Mon 30 Nov 14:05 CET"."""
    if moment is not None and timezone.localdate(moment) == timezone.localdate():
        return clock_time(moment)
    return local_moment(moment)


def with_local_times(text) -> str:
    """A note with every ISO timestamp in it rewritten as `local_moment` (SLA notes).

    Returns plain text: the caller's template still escapes it.
    """

    def local(match: re.Match) -> str:
        try:
            moment = datetime.datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            return match.group(0)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        return local_moment(moment)

    return ISO_MOMENT.sub(local, str(text or ""))
