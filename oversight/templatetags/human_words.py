"""`{% load human_words %}`: the reviewer's screens in human words (see `oversight.wording`).

Every filter returns plain text, so the template escapes it: an action id or a note written by
an AI system stays data.
"""

from django import template

from oversight import wording

register = template.Library()


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
