"""The claim on a case as a lease: the primitives every claim-changing service shares.

Kept apart from `oversight.services.cases` so the authority services can release claims when
authority ends without importing the case services (which import authority): imports point
one way.
"""

import datetime

from oversight.models import Case, CaseStatus

SECOND_REVIEW = CaseStatus.AWAITING_SECOND_REVIEW


def lock_case(case: Case | str) -> Case:
    """The case row, locked until the end of the caller's transaction."""
    pk = case.pk if isinstance(case, Case) else case
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("journey__ai_system", "required_level")
        .get(pk=pk)
    )


def claim_is_live(case: Case, at: datetime.datetime) -> bool:
    return case.claimed_by_id is not None and case.claim_expires_at > at


def status_without_claim(case: Case) -> str:
    """The state a case returns to when its claim ends: waiting for its second review, back in
    the queue after an escalation, or open."""
    if case.status == SECOND_REVIEW:
        return SECOND_REVIEW
    return CaseStatus.ESCALATED if case.review_round > 1 else CaseStatus.OPEN


def clear_claim(case: Case) -> None:
    case.claimed_by = None
    case.claimed_at = None
    case.claim_expires_at = None
