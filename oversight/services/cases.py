"""Claims on cases, and the SLA sweep: the queue side of a reviewer's work.

A claim is a lease: while it lasts nobody else may decide the case; it lapses on its own after
CLAIM_LEASE_MINUTES and the SLA sweep returns the case to the queue. Every function locks the
case row (select_for_update) so two reviewers acting at the same moment cannot both succeed.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.local_time import local_time
from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import AuthorityGrant, AuthorityLevel, Case, CaseStatus, DecisionStage
from oversight.services.authority import authority_at, grant_as_recorded
from oversight.services.claims import (
    SECOND_REVIEW,
    claim_is_live,
    clear_claim,
    lock_case,
    status_without_claim,
)
from oversight.wording import clock_time, person_name

CLAIMABLE = {CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.CLAIMED}


def deciding_grant(case: Case, reviewer, *, at: datetime.datetime) -> AuthorityGrant:
    """The grant that lets `reviewer` decide this case at `at`, or NotAllowed (invariant 2).

    Judged by the one moment-exact rule (`authority_at`), so what the decision service accepts
    is what the effective-authority page, the register and the oversight report say.
    """
    verdict = authority_at(user=reviewer, journey=case.journey, at=at)
    if verdict.grant is None:
        raise NotAllowed(
            "You hold no authority to decide cases of this journey (no grant in force, or its "
            "required training is not current)."
        )
    grant = grant_as_recorded(verdict.grant.version)
    if grant.level.rank < case.required_level.rank:
        raise NotAllowed(
            f"This case needs the level {case.required_level.name}; you hold {grant.level.name}."
        )
    return grant


def _first_reviewer_id(case: Case):
    first = case.decisions.filter(review_round=case.review_round, stage=DecisionStage.FIRST).first()
    return first.reviewer_id if first else None


def claim_case(*, case: Case, reviewer) -> Case:
    """Claim a case to decide it: a lease of CLAIM_LEASE_MINUTES.

    Rules: the reviewer must hold effective authority at the case's level; a live claim by
    someone else is refused; a decided case cannot be claimed; the second review of a four-eyes
    case cannot be claimed by whoever took the first decision. Claiming your own live claim
    renews it.
    """
    now = timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        if case.status == CaseStatus.DECIDED:
            raise StaleState("This case has already been decided.")
        if claim_is_live(case, now) and case.claimed_by_id != reviewer.pk:
            raise StaleState(
                f"This case is claimed by {person_name(case.claimed_by)} until "
                f"{clock_time(case.claim_expires_at)}; nothing was recorded."
            )
        deciding_grant(case, reviewer, at=now)
        if case.status == SECOND_REVIEW and _first_reviewer_id(case) == reviewer.pk:
            raise NotAllowed("The second review must be by a different person than the first.")
        renewing = case.claimed_by_id == reviewer.pk
        case.claimed_by = reviewer
        case.claimed_at = case.claimed_at if renewing else now
        case.claim_expires_at = now + datetime.timedelta(minutes=settings.CLAIM_LEASE_MINUTES)
        if case.status != SECOND_REVIEW:
            case.status = CaseStatus.CLAIMED
        case._history_user = reviewer
        case.save()
        append_event(
            actor=Actor.for_user(reviewer),
            action="case.claimed",
            obj=case,
            payload={"until": case.claim_expires_at, "renewed": renewing},
        )
    return case


def take_over_claim(*, case: Case, user, reason: str) -> Case:
    """Take over a case someone else holds a live claim on, saying why (a team lead stepping in).

    Rules: a reason; the case is not decided and holds a live claim by someone else (a case
    nobody holds is simply claimed); `user` may decide the case (invariant 2) at a level ranked
    above the claimant's effective level on its journey now (a claimant without authority any
    more ranks below everyone); the second review of a four-eyes case never goes to whoever took
    the first decision. The rules are checked on the locked row, so of two people of the same
    level taking over at once exactly one wins: the second finds the first holding the case at
    a level not below theirs. On success: a fresh lease for `user`, a history row (by `user`,
    with the reason) and a "case.claim_taken_over" event naming both people.
    """
    now = timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you take over this case: a reason is needed.")
    with transaction.atomic():
        case = lock_case(case)
        if case.status == CaseStatus.DECIDED:
            raise StaleState("This case has already been decided.")
        if not claim_is_live(case, now):
            raise InvalidInput("Nobody holds a live claim on this case: claim it instead.")
        if case.claimed_by_id == user.pk:
            raise InvalidInput("You already hold this case.")
        grant = deciding_grant(case, user, at=now)
        claimant = case.claimed_by
        theirs = authority_at(user=claimant, journey=case.journey, at=now)
        their_level = theirs.grant.level if theirs.grant is not None else None
        if their_level is not None and grant.level.rank <= their_level.rank:
            raise NotAllowed(
                f"{claimant.get_username()} holds {their_level.name} on this journey; taking "
                f"over needs a higher level than that, and you hold {grant.level.name}."
            )
        if case.status == SECOND_REVIEW and _first_reviewer_id(case) == user.pk:
            raise NotAllowed("The second review must be by a different person than the first.")
        case.claimed_by = user
        case.claimed_at = now
        case.claim_expires_at = now + datetime.timedelta(minutes=settings.CLAIM_LEASE_MINUTES)
        if case.status != SECOND_REVIEW:
            case.status = CaseStatus.CLAIMED
        case._history_user = user
        case._change_reason = f"claim taken over from {claimant.get_username()}: {reason}"
        case.save()
        del case._change_reason  # the reason of this save only
        append_event(
            actor=Actor.for_user(user),
            action="case.claim_taken_over",
            obj=case,
            payload={
                "from": claimant.get_username(),
                "from_level": their_level.name if their_level else None,
                "level": grant.level.name,
                "reason": reason,
                "until": case.claim_expires_at,
            },
        )
    return case


def release_case(*, case: Case, reviewer) -> Case:
    """Give a claimed case back to the queue. Only the holder may release their claim."""
    with transaction.atomic():
        case = lock_case(case)
        if case.claimed_by_id != reviewer.pk:
            raise NotAllowed("Only the reviewer who claimed this case can release it.")
        clear_claim(case)
        case.status = status_without_claim(case)
        case._history_user = reviewer
        case.save()
        append_event(actor=Actor.for_user(reviewer), action="case.released", obj=case)
    return case


def next_level_above(level: AuthorityLevel) -> AuthorityLevel | None:
    return (
        AuthorityLevel.objects.filter(rank__gt=level.rank, may_decide=True).order_by("rank").first()
    )


def escalate_locked_case(
    case: Case, *, actor: Actor, note: str, history_user=None, reason: str
) -> Case:
    """Move a locked case one level up for a fresh review round (caller holds the lock).

    At the top level there is nowhere higher: the case starts a new round at the same level, so
    a person still has to look at it again.
    """
    higher = next_level_above(case.required_level)
    before = case.required_level.name
    if higher is not None:
        case.required_level = higher
    case.review_round += 1
    case.status = CaseStatus.ESCALATED
    case.escalation_note = note
    clear_claim(case)
    case._history_user = history_user
    case.save()
    append_event(
        actor=actor,
        action="case.escalated",
        obj=case,
        payload={
            "reason": reason,
            "from_level": before,
            "to_level": case.required_level.name,
            "round": case.review_round,
            "note": note,
        },
    )
    return case


def sweep_cases(*, now: datetime.datetime | None = None) -> dict:
    """The periodic sweep: escalate cases past their SLA and release lapsed claims.

    An SLA breach is marked once (kept for reports), the case goes one level up with a fresh
    SLA of the same length, and the ledger records both. Idempotent: a second run at the same
    moment changes nothing.
    """
    now = now or timezone.now()
    actor = Actor.system("sla sweep")
    breached = released = 0
    overdue = Case.objects.filter(sla_deadline__lt=now, sla_breached_at__isnull=True).exclude(
        status=CaseStatus.DECIDED
    )
    for case_id in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            case = lock_case(case_id)
            if case.status == CaseStatus.DECIDED or case.sla_breached_at is not None:
                continue
            sla = case.sla_deadline - case.opened_at
            case.sla_breached_at = now
            append_event(
                actor=actor,
                action="case.sla_breached",
                obj=case,
                payload={"deadline": case.sla_deadline, "level": case.required_level.name},
            )
            case.sla_deadline = now + max(sla, datetime.timedelta(minutes=1))
            escalate_locked_case(
                case,
                actor=actor,
                note=f"SLA breached at {local_time(now, seconds=False)}: escalated automatically.",
                reason="sla_breached",
            )
            breached += 1
    lapsed = Case.objects.filter(claim_expires_at__lte=now).exclude(status=CaseStatus.DECIDED)
    for case_id in lapsed.values_list("pk", flat=True):
        with transaction.atomic():
            case = lock_case(case_id)
            if case.claim_expires_at is None or case.claim_expires_at > now:
                continue
            holder = case.claimed_by
            clear_claim(case)
            case.status = status_without_claim(case)
            case._history_user = None
            case.save()
            append_event(
                actor=actor,
                action="case.claim_expired",
                obj=case,
                payload={"holder": holder.get_username()},
            )
            released += 1
    return {"sla_breached": breached, "claims_released": released}


def check_claim(case: Case, reviewer, now: datetime.datetime) -> None:
    """Refuse unless `reviewer` holds a live claim on the (locked) case."""
    if case.status == CaseStatus.DECIDED:
        raise StaleState("This case has already been decided.")
    if case.claimed_by_id != reviewer.pk:
        if claim_is_live(case, now):
            raise StaleState(
                f"This case is claimed by {person_name(case.claimed_by)} until "
                f"{clock_time(case.claim_expires_at)}: you cannot decide it; nothing was recorded."
            )
        raise InvalidInput("Claim the case before deciding it.")
    if not claim_is_live(case, now):
        raise StaleState("Your claim on this case has lapsed: claim it again to decide.")
