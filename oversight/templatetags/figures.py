"""Figures in templates, printed by the one rounding rule of the reports and the dashboard.

`{{ share|percent }}` prints a rate of 0 to 1 as `oversight.metrics.definitions.percent` does
("71.4 %"), so a table never rounds differently from the chart or the text above it;
`{{ seconds|duration }}` prints a length of time as `oversight.metrics.definitions.duration`
does ("1 h 8 min").
"""

from django import template

from oversight.metrics.definitions import duration as format_duration
from oversight.metrics.definitions import percent as format_percent

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return format_percent(value)


@register.filter
def duration(seconds: float | None) -> str:
    return format_duration(seconds)
