"""What to tell a reviewer whose page was out of date when they pressed a button.

A stale tab (the case was decided, escalated or taken while the page was open) must land on the
case with a clear account of what happened and the assurance that nothing was recorded: never a
bare 403 page, never under a success banner. The words are built here, once, from the case's
decisions and ledger, for the `case_action` decorator of `oversight.admin.review`.
"""

from audit.models import AuditEvent
from oversight.models import Case, CaseStatus, DecisionOutcome
from oversight.selectors import final_decision
from oversight.wording import clock_time, local_moment, moment_said, person_name

NOTHING_RECORDED = "nothing was recorded"


def decided_message(case: Case, user) -> str:
    """ "Decided by Sam Lee at 14:05 CET (Approve the proposal) while your page was open; …"."""
    decision = final_decision(case)
    when = moment_said(case.decided_at)
    if decision is None:
        return f"This case was decided at {when} while your page was open; {NOTHING_RECORDED}."
    outcome = decision.get_outcome_display()
    if decision.reviewer_id == user.pk:
        return f"You already decided this case at {when} ({outcome}); nothing more was recorded."
    return (
        f"Decided by {person_name(decision.reviewer)} at {when} ({outcome}) while your page "
        f"was open; {NOTHING_RECORDED}."
    )


def _last_escalation(case: Case) -> AuditEvent | None:
    return (
        AuditEvent.objects.filter(
            object_type=Case._meta.label_lower, object_id=str(case.pk), action="case.escalated"
        )
        .order_by("-sequence")
        .first()
    )


def escalated_message(case: Case, user) -> str:
    """ "Escalated by Rhea Ray at 14:05 CET to Senior reviewer while your page was open; …"."""
    event = _last_escalation(case)
    level = case.required_level.name
    if event is None:
        return (
            f"This case now needs the level {level}, which you do not hold here; "
            f"{NOTHING_RECORDED}."
        )
    escalation = next(
        (
            d
            for d in reversed(case.decisions.all())
            if d.outcome == DecisionOutcome.ESCALATE and d.review_round == case.review_round - 1
        ),
        None,
    )
    if escalation is not None and escalation.reviewer_id == user.pk:
        who = "by you"
    elif escalation is not None:
        who = f"by {person_name(escalation.reviewer)}"
    else:
        who = "automatically (its SLA deadline passed)"
    return (
        f"Escalated {who} at {moment_said(event.occurred_at)} to {level} while your page was "
        f"open; {NOTHING_RECORDED}. It now needs {level}."
    )


def moved_on_message(case: Case, user, *, decidable: bool) -> str | None:
    """Why `user` can no longer act on `case` as their page offered, or None if they can.

    `decidable`: whether the case is within the user's authority now. Reads the case's
    prefetched decisions; one more query (the ledger) for a case that left their authority.
    """
    if case.status == CaseStatus.DECIDED:
        return decided_message(case, user)
    if decidable:
        return None
    if case.status == CaseStatus.ESCALATED:
        return escalated_message(case, user)
    return (
        f"This case is outside your authority now (it needs {case.required_level.name}); "
        f"{NOTHING_RECORDED}."
    )


def held_message(case: Case) -> str:
    """Who holds a live claim on the case, for the person who opened it from the queue."""
    since = f" since {clock_time(case.claimed_at)}" if case.claimed_at else ""
    return (
        f"{person_name(case.claimed_by)} holds this case{since} until "
        f"{local_moment(case.claim_expires_at)}: it is open for you to read."
    )
