"""`{% load human_words %}`: moments, names and actions as people read them, on every admin page.

`{{ moment|local_time }}` prints "1 Jul 2026, 12:00 CEST": the viewer's time zone (Django's
active one) with the zone named, never a bare ISO timestamp or an unnamed "UTC" label;
`{{ moment|local_time:"seconds" }}` adds the seconds where evidence needs them. The reviewer's
screens use the shorter forms of `oversight.wording` (`moment`, `clock`). Sizes:
`oversight.admin.report_display.human_size`.

Every filter returns plain text, so the template escapes it: an action id or a note written by
an AI system stays data.
"""

from django import template

from audit.local_time import local_time as format_local_time
from oversight import wording

register = template.Library()


@register.filter
def local_time(value, precision: str = "") -> str:
    return format_local_time(value, seconds=precision == "seconds")


@register.filter
def action_label(value) -> str:
    """`{{ case.action_type|action_label }}`: "refund_delivery_fee" → "Refund delivery fee"."""
    return wording.action_label(value)


@register.filter
def person(user) -> str:
    """`{{ decision.reviewer|person }}`: the full name, else the username."""
    return wording.person_name(user) if user else ""


@register.filter
def moment(value) -> str:
    """`{{ case.sla_deadline|moment }}`: "Mon 30 Nov 14:05 CET" in the active time zone."""
    return wording.local_moment(value)


@register.filter
def clock(value) -> str:
    """`{{ case.claim_expires_at|clock }}`: "14:05 CET"."""
    return wording.clock_time(value)


@register.filter
def local_times(value) -> str:
    """`{{ case.escalation_note|local_times }}`: ISO timestamps in a note as local moments."""
    return wording.with_local_times(value)
