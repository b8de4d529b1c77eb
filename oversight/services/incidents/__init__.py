"""The serious-incident register: raising, moving forward, the deadline, suggestions, reminders.

One module per concern: `register` (the state changes a person makes), `deadlines` (the
reporting clock), `suggestions` (patterns the product spots), `reminders` (e-mails before
each deadline). Callers import the functions from here.
"""

from oversight.services.incidents.register import (
    NEXT_STATES,
    advance_incident,
    ai_systems_handled_by,
    may_handle_incidents,
    move_deadline,
    raise_incident,
)

__all__ = [
    "NEXT_STATES",
    "advance_incident",
    "ai_systems_handled_by",
    "may_handle_incidents",
    "move_deadline",
    "raise_incident",
]
