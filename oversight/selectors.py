"""Read-side queries and views of cases shared by the API, webhooks, admin and reports."""

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Q

from oversight.approvals import approval_token
from oversight.models import Case, CaseStatus, Decision, DecisionOutcome, RouteReason
from oversight.models.authority import AuthorityGrant
from oversight.services.authority import (
    BRIEFING_MISSING,
    TRAINING_MISSING,
    AuthorityRecord,
)
from oversight.services.pii import mask_pii

FINAL_OUTCOMES = {
    DecisionOutcome.APPROVE,
    DecisionOutcome.MODIFY,
    DecisionOutcome.REJECT,
    DecisionOutcome.AGREE,
    DecisionOutcome.DISAGREE,
}


def final_decision(case: Case) -> Decision | None:
    """The decision that stands on a decided case (the second one on four-eyes cases).

    Reads `case.decisions.all()`, so callers listing cases should prefetch
    `decisions__override_reason` to keep a fixed number of queries.
    """
    if case.status != CaseStatus.DECIDED:
        return None
    standing = [
        d
        for d in case.decisions.all()
        if d.review_round == case.review_round and d.outcome in FINAL_OUTCOMES
    ]
    standing.sort(key=lambda d: (d.stage != "first", d.decided_at))
    return standing[-1] if standing else None


def automation_instruction(case: Case, decision: Decision | None) -> dict:
    """What the automation may do now, in words an integrator can switch on."""
    if case.route_reason == RouteReason.SAMPLE_AUDIT:
        return {
            "instruction": "already_automated",
            "may_proceed": True,
            "detail": "A sample audit of an automated action; nothing to wait for.",
        }
    if decision is None:
        return {
            "instruction": "wait",
            "may_proceed": False,
            "detail": "A person has not decided yet; poll again or wait for the webhook.",
        }
    if decision.outcome == DecisionOutcome.APPROVE:
        return {
            "instruction": "proceed",
            "may_proceed": True,
            "action": case.proposal,
            "approval_token": approval_token(case, decision),
        }
    if decision.outcome == DecisionOutcome.MODIFY:
        return {
            "instruction": "proceed_with_changes",
            "may_proceed": True,
            "action": decision.final_action,
            "approval_token": approval_token(case, decision),
        }
    return {"instruction": "do_not_proceed", "may_proceed": False}


def decision_summary(decision: Decision | None) -> dict | None:
    if decision is None:
        return None
    return {
        "outcome": decision.outcome,
        "final_action": decision.final_action,
        "overridden": decision.is_override,
        "override_reason": decision.override_reason.code if decision.override_reason else None,
        "override_reason_label": decision.override_reason.label
        if decision.override_reason
        else None,
        "rationale": mask_pii(decision.rationale),
        "decided_at": decision.decided_at.isoformat(),
    }


def case_state(case: Case) -> dict:
    """The case as an AI system sees it: state, decision and what it may now do.

    The same document is returned by GET /api/v1/cases/{id}/ and sent in decision webhooks.
    """
    decision = final_decision(case)
    return {
        "id": str(case.id),
        "journey": case.journey.slug,
        "status": case.status,
        "route_reason": case.route_reason,
        "opened_at": case.opened_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "sla_deadline": case.sla_deadline.isoformat(),
        "subject_ref": case.subject_ref,
        "evaluation": str(case.evaluation_id) if case.evaluation_id else None,
        "decision": decision_summary(decision),
        "next_step": automation_instruction(case, decision),
    }


def cases_for_api():
    """Cases with everything case_state() reads, in a fixed number of queries."""
    return Case.objects.select_related("journey").prefetch_related(
        "decisions__override_reason", "decisions__reviewer"
    )


@dataclass(frozen=True)
class RegisterRow:
    """One person's authority on one scope at a moment, as the record stood then."""

    grant_id: uuid.UUID
    user: object
    level: object
    ai_system: object
    journey: object | None  # None: the grant covers every journey of the AI system
    granted_by: object | None
    valid_from: datetime.datetime
    valid_until: datetime.datetime | None
    justification: str
    training_current: bool
    missing_training: tuple[str, ...]

    @property
    def scope(self) -> str:
        return str(self.journey) if self.journey else f"{self.ai_system} (every journey)"


def authority_register(at: datetime.datetime) -> list[RegisterRow]:
    """Who held which authority level on which scope at `at`, granted by whom, and whether
    their training for it was current then.

    Reconstructed from the grants' history (django-simple-history): for each grant, the last
    version recorded at or before `at`, kept if that version was in force at `at` (started,
    not ended, not revoked). A grant extended or revoked later shows as it stood on that date;
    a grant recorded after `at` does not show. Training and briefings are judged at `at` by the
    one moment-exact rule (`oversight.services.authority.AuthorityRecord`): the modules and
    briefings the level required then, training current that day, the briefing published by
    then acknowledged by then. `missing_training` names the modules, then the briefing. A fixed
    number of queries whatever the number of rows; ordered by AI system, journey (system-wide
    first), level (highest first) and person.
    """
    versions = (
        AuthorityGrant.history.filter(history_date__lte=at)
        .latest_of_each()
        .exclude(history_type="-")
        .filter(
            Q(valid_from__lte=at)
            & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))
            & (Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        )
        .select_related("user", "level", "ai_system", "journey__ai_system", "granted_by")
        .order_by("id", "-history_id")
    )
    # Two versions recorded at the same instant both survive latest_of_each: keep the later.
    latest = {}
    for version in versions:
        latest.setdefault(version.id, version)
    if not latest:
        return []
    record = AuthorityRecord.load(user_ids={v.user_id for v in latest.values()})
    missing = {
        v.id: tuple(
            shortfall.subject
            for shortfall in record.judge_grant(v.id, at).shortfalls
            if shortfall.code in (TRAINING_MISSING, BRIEFING_MISSING)
        )
        for v in latest.values()
    }
    rows = [
        RegisterRow(
            grant_id=v.id,
            user=v.user,
            level=v.level,
            ai_system=v.journey.ai_system if v.journey_id else v.ai_system,
            journey=v.journey,
            granted_by=v.granted_by,
            valid_from=v.valid_from,
            valid_until=v.valid_until,
            justification=v.justification,
            training_current=not missing[v.id],
            missing_training=missing[v.id],
        )
        for v in latest.values()
    ]
    rows.sort(
        key=lambda row: (
            row.ai_system.name,
            row.journey.name if row.journey else "",
            -row.level.rank,
            row.user.get_username(),
        )
    )
    return rows
