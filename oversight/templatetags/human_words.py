"""Moments as people read them, the same on every admin page.

`{{ moment|local_time }}` prints "1 Jul 2026, 12:00 CEST": the viewer's time zone (Django's
active one) with the zone named, never a bare ISO timestamp or an unnamed "UTC" label;
`{{ moment|local_time:"seconds" }}` adds the seconds where evidence needs them.
Sizes: `oversight.admin.report_display.human_size`.
"""

from django import template

from audit.local_time import local_time as format_local_time

register = template.Library()


@register.filter
def local_time(value, precision: str = "") -> str:
    return format_local_time(value, seconds=precision == "seconds")
