"""Deciding a case: approve, modify, reject or escalate; agree/disagree on sample audits.

One call is one Decision row, taken under a lock on the case by the reviewer holding the claim.
A decision that differs from the AI's proposal is an override and needs a level that may
override, a reason category and a rationale. Approving an irreversible action, or one above the
level's monetary limit, needs a level allowed to. Four-eyes cases need a second, different
person who agrees; a disagreement escalates the case.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.json_guard import check_json, check_text, loads
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    OverrideReason,
    RouteReason,
)
from oversight.services.cases import check_claim, deciding_grant, escalate_locked_case, lock_case
from oversight.services.webhooks import enqueue_decision_webhook

LIVE_OUTCOMES = {
    DecisionOutcome.APPROVE,
    DecisionOutcome.MODIFY,
    DecisionOutcome.REJECT,
    DecisionOutcome.ESCALATE,
}
AUDIT_OUTCOMES = {DecisionOutcome.AGREE, DecisionOutcome.DISAGREE}
OVERRIDING = {DecisionOutcome.MODIFY, DecisionOutcome.REJECT}
CARRIES_OUT_ACTION = {DecisionOutcome.APPROVE, DecisionOutcome.MODIFY}


@dataclass(frozen=True)
class DecisionInput:
    outcome: str
    final_action: Any = None
    override_reason: OverrideReason | None = None
    rationale: str = ""
    time_spent_seconds: int | None = None


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


def _validate(case: Case, decision: DecisionInput) -> None:
    # What no database keeps (NUL, lone surrogates...) is refused whoever the caller is.
    check_json(decision.final_action, path="final_action")
    check_text(decision.rationale or "", path="rationale")
    allowed = AUDIT_OUTCOMES if case.route_reason == RouteReason.SAMPLE_AUDIT else LIVE_OUTCOMES
    if decision.outcome not in allowed:
        labels = ", ".join(sorted(allowed))
        raise InvalidInput(f"For this case, decide one of: {labels}.")
    if decision.outcome == DecisionOutcome.MODIFY:
        action = decision.final_action
        if action in (None, "", {}, []):
            raise InvalidInput("A modification needs the final action you decided on.")
        option = action.get("option") if isinstance(action, dict) else action
        if case.options and isinstance(option, str) and option not in case.options:
            raise InvalidInput(
                f"{option!r} is not among the options for this case: {', '.join(case.options)}."
            )
        if case.options and not isinstance(option, str):
            raise InvalidInput(
                'Choose one of the options, e.g. {"option": "' + case.options[0] + '"}.'
            )
    if (
        decision.outcome in (DecisionOutcome.ESCALATE, DecisionOutcome.DISAGREE)
        and not (decision.rationale or "").strip()
    ):
        raise InvalidInput("Say why: an escalation or a disagreement needs a note.")


def _check_capabilities(case: Case, decision: DecisionInput, level) -> bool:
    """Returns whether this is an override; refuses what the level may not do (invariant 3)."""
    is_override = case.route_reason != RouteReason.SAMPLE_AUDIT and decision.outcome in OVERRIDING
    if is_override:
        if not level.may_override:
            raise NotAllowed(f"Your level {level.name} may not override the AI's proposal.")
        if decision.override_reason is None or not decision.override_reason.is_active:
            raise InvalidInput("An override needs a reason category.")
        if not (decision.rationale or "").strip():
            raise InvalidInput("An override needs a rationale: say why you decided otherwise.")
    if decision.outcome in CARRIES_OUT_ACTION:
        if case.irreversible and not level.may_approve_irreversible:
            raise NotAllowed(
                f"This action cannot be undone; your level {level.name} may not approve it."
            )
        if (
            case.amount is not None
            and level.monetary_limit is not None
            and case.amount > level.monetary_limit
        ):
            raise NotAllowed(
                f"{case.amount} {case.currency} is above your level's limit of "
                f"{level.monetary_limit}."
            )
    return is_override


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
        _validate(case, decision)
        is_override = _check_capabilities(case, decision, grant.level)
        second = case.status == CaseStatus.AWAITING_SECOND_REVIEW
        first_decision = None
        if second:
            first_decision = case.decisions.get(
                review_round=case.review_round, stage=DecisionStage.FIRST
            )
            if first_decision.reviewer_id == reviewer.pk:
                raise NotAllowed("The second review must be by a different person.")
        elapsed = int((now - case.claimed_at).total_seconds()) if case.claimed_at else None
        record = Decision(
            case=case,
            review_round=case.review_round,
            stage=DecisionStage.SECOND if second else DecisionStage.FIRST,
            reviewer=reviewer,
            outcome=decision.outcome,
            final_action=_final_action(case, decision),
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
        elif second and not _agree(first_decision, record):
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


def _final_action(case: Case, decision: DecisionInput):
    if decision.outcome == DecisionOutcome.MODIFY:
        return decision.final_action
    if decision.outcome == DecisionOutcome.APPROVE:
        return case.proposal
    return None


def _agree(first: Decision, second: Decision) -> bool:
    """Same outcome, and for modifications the same final action (approve and reject carry none
    of their own to compare)."""
    if first.outcome != second.outcome:
        return False
    return first.outcome != DecisionOutcome.MODIFY or first.final_action == second.final_action


def _release(case: Case, reviewer) -> None:
    case.claimed_by = None
    case.claimed_at = None
    case.claim_expires_at = None
    case._history_user = reviewer
    case.save()
