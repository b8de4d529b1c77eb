"""Moments as a person reads them: in the active time zone, with the zone's name shown.

Stored times are UTC; the admin shows them in the viewer's zone (Django's active time zone,
TIME_ZONE unless a middleware activates another) and names the zone, so "12:00" is never
ambiguous in evidence.
"""

from django.utils import timezone
from django.utils.formats import date_format


def local_time(value, *, seconds: bool = True) -> str:
    """E.g. "1 Jul 2026, 12:00:05 CEST" (or "1 Jul 2026, 12:00 CEST"); "-" for no value."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), "j M Y, H:i:s T" if seconds else "j M Y, H:i T")
