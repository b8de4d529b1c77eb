"""Claims follow authority: when a person's authority ends, so do their claims on cases.

A claim is a lease for deciding a case; it must not outlive the authority behind it, or the
case sits stranded until the lease runs out (and may breach its SLA). Called inside the
transaction of whatever ended the authority (a revocation, a reconciliation that found a grant
expired or a training lapsed, a briefing that must be acknowledged again).
"""

import datetime

from audit.services.ledger import Actor, append_event
from oversight.models import Case, CaseStatus
from oversight.services.authority.moment import AuthorityRecord
from oversight.services.claims import clear_claim, lock_case, status_without_claim


def release_claims_beyond_authority(
    *, user_ids, at: datetime.datetime, actor: Actor, history_user=None, why: str
) -> list[Case]:
    """Release every live claim of these people on a case they may no longer decide at `at`.

    Judged by the moment-exact rule (`AuthorityRecord.judge` with the case's required level):
    a claim on a case another grant still covers stays. Each released case returns to the
    queue (or to waiting for its second review), with a history row (by `history_user`, with
    `why` as change reason) and a "case.claim_released" event naming the holder and why. The
    caller holds the transaction; the rows are locked one by one. A fixed number of queries
    plus three per released case.
    """
    user_ids = set(user_ids)
    if not user_ids:
        return []
    claimed = list(
        Case.objects.filter(claimed_by_id__in=user_ids, claim_expires_at__gt=at)
        .exclude(status=CaseStatus.DECIDED)
        .select_related("journey", "required_level")
        .order_by("opened_at", "pk")
    )
    if not claimed:
        return []
    record = AuthorityRecord.load(user_ids={case.claimed_by_id for case in claimed})
    released = []
    for candidate in claimed:
        verdict = record.judge(
            user_id=candidate.claimed_by_id,
            journey=candidate.journey,
            at=at,
            required_rank=candidate.required_level.rank,
        )
        if verdict.may_decide:
            continue
        case = lock_case(candidate)
        if case.claimed_by_id != candidate.claimed_by_id or case.status == CaseStatus.DECIDED:
            continue  # changed meanwhile: nothing of this holder's left to release
        holder = case.claimed_by
        clear_claim(case)
        case.status = status_without_claim(case)
        case._history_user = history_user
        case._change_reason = f"claim released: {why}"
        case.save()
        del case._change_reason  # the reason of this save only
        append_event(
            actor=actor,
            action="case.claim_released",
            obj=case,
            payload={
                "holder": holder.get_username(),
                "why": why,
                "shortfalls": [shortfall.text for shortfall in verdict.shortfalls],
            },
        )
        released.append(case)
    return released
