"""Deciding a case: approve, modify, reject or escalate; agree/disagree on sample audits.

One call is one Decision row, taken under a lock on the case by the reviewer holding the claim.
A decision that differs from the AI's proposal is an override and needs a level that may
override, a reason category and a rationale. Approving an irreversible action, or one above the
level's monetary limit, needs a level allowed to. Four-eyes cases need a second, different
person who agrees; a disagreement escalates the case, and the second reviewer must say why.
The rules themselves live in `decision_rules`, shared with the admin's decision form.
"""

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.json_guard import check_text, loads
from oversight.models import Case, CaseStatus, Decision, DecisionOutcome, DecisionStage, RouteReason
from oversight.services.cases import check_claim, deciding_grant, escalate_locked_case, lock_case
from oversight.services.decision_rules import (
    OVERRIDING,
    DecisionInput,
    agrees,
    decision_problems,
    final_action_of,
    first_review,
    raise_first,
)
from oversight.services.webhooks import enqueue_decision_webhook

__all__ = ["DecisionInput", "decide_case", "parse_final_action"]


def parse_final_action(raw: str) -> Any:
    """Read a modified action typed by a reviewer: JSON, or a plain option label.

    Read with the API's guard (oversight.json_guard): NUL characters, lone surrogates, deep
    nests and out-of-range numbers are refused as InvalidInput naming the place.
    """
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return loads(text, path="final_action")
    except json.JSONDecodeError:
        if text.startswith(("{", "[", '"')):
            raise InvalidInput("The modified action is not valid JSON.") from None
        check_text(text, path="final_action")
        return text


def decide_case(*, case: Case, reviewer, decision: DecisionInput) -> Decision:
    """Take a decision on a case the reviewer has claimed.

    Rules: a live claim by this reviewer; effective authority at the case's level (invariant 2);
    the capabilities of invariant 3; once per stage and round, and four eyes by two different
    people (invariant 5: the row lock makes a simultaneous second decision see the first and be
    refused). Finalising notifies the AI system (webhook) after commit.
    """
    now = timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        check_claim(case, reviewer, now)
        grant = deciding_grant(case, reviewer, at=now)
        second = case.status == CaseStatus.AWAITING_SECOND_REVIEW
        first_decision = first_review(case) if second else None
        raise_first(decision_problems(case, decision, grant.level, first=first_decision))
        if first_decision is not None and first_decision.reviewer_id == reviewer.pk:
            raise NotAllowed("The second review must be by a different person.")
        is_override = case.route_reason != RouteReason.SAMPLE_AUDIT and (
            decision.outcome in OVERRIDING
        )
        elapsed = int((now - case.claimed_at).total_seconds()) if case.claimed_at else None
        record = Decision(
            case=case,
            review_round=case.review_round,
            stage=DecisionStage.SECOND if second else DecisionStage.FIRST,
            reviewer=reviewer,
            outcome=decision.outcome,
            final_action=final_action_of(case, decision),
            is_override=is_override,
            override_reason=decision.override_reason if is_override else None,
            rationale=(decision.rationale or "").strip(),
            authority_level=grant.level,
            grant=grant,
            time_spent_seconds=decision.time_spent_seconds
            if decision.time_spent_seconds is not None
            else elapsed,
            decided_at=now,
        )
        record._history_user = reviewer
        record.save()
        actor = Actor.for_user(reviewer)
        payload = {
            "decision": str(record.id),
            "outcome": record.outcome,
            "stage": record.stage,
            "round": record.review_round,
            "override": is_override,
            "override_reason": decision.override_reason.code if is_override else None,
            "level": grant.level.name,
            "grant": str(grant.id),
        }
        if decision.outcome == DecisionOutcome.ESCALATE:
            escalate_locked_case(
                case,
                actor=actor,
                note=record.rationale,
                history_user=reviewer,
                reason="reviewer_escalated",
            )
        elif second and not agrees(first_decision, record.outcome, record.final_action):
            append_event(
                actor=actor, action="case.second_review_disagreed", obj=case, payload=payload
            )
            escalate_locked_case(
                case,
                actor=Actor.system("four eyes"),
                note="The two reviewers disagreed: "
                f"{first_decision.outcome} vs {record.outcome}. {record.rationale}".strip(),
                history_user=reviewer,
                reason="four_eyes_disagreement",
            )
        elif case.four_eyes and not second:
            case.status = CaseStatus.AWAITING_SECOND_REVIEW
            _release(case, reviewer)
            append_event(
                actor=actor, action="case.second_review_requested", obj=case, payload=payload
            )
        else:
            case.status = CaseStatus.DECIDED
            case.decided_at = now
            _release(case, reviewer)
            append_event(
                actor=actor,
                action="case.overridden" if is_override else "case.decided",
                obj=case,
                payload=payload,
            )
            enqueue_decision_webhook(case=case)
    return record


def _release(case: Case, reviewer) -> None:
    case.claimed_by = None
    case.claimed_at = None
    case.claim_expires_at = None
    case._history_user = reviewer
    case.save()
