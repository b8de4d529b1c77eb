"""Corrections for training and evaluation: one record per final human decision.

A record says what the AI proposed, what the person finally decided, whether that overrode the
AI and why (the rationale with personal data masked by the PII judge), how it turned out (the
outcomes reported), the judgement points that fired and the version of every judgement point of
the journey in force when the case was opened. The API, the admin export and
`export_corrections` read the same records from here; `oversight.services.corrections` records
who took which.
"""

import datetime
from collections import defaultdict

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from oversight.models import AISystem, CaseStatus, Decision, DecisionStage, JudgementPoint, Outcome
from oversight.selectors import FINAL_OUTCOMES
from oversight.services.pii import mask_pii

ORDERING = ("decided_at", "id")


def final_decisions(
    ai_system: AISystem | None = None, since: datetime.datetime | None = None
) -> QuerySet[Decision]:
    """The decisions that stand on decided cases (the second review where there is one; the
    same rule as `oversight.selectors.final_decision`), in a stable order: decided_at, id."""
    second_review = Decision.objects.filter(
        case=OuterRef("case"),
        review_round=OuterRef("review_round"),
        stage=DecisionStage.SECOND,
        outcome__in=FINAL_OUTCOMES,
    )
    decisions = Decision.objects.filter(
        case__status=CaseStatus.DECIDED,
        review_round=F("case__review_round"),
        outcome__in=FINAL_OUTCOMES,
    ).filter(Q(stage=DecisionStage.SECOND) | ~Exists(second_review))
    if ai_system is not None:
        decisions = decisions.filter(case__journey__ai_system=ai_system)
    if since is not None:
        decisions = decisions.filter(decided_at__gte=since)
    return decisions.select_related(
        "case__journey", "case__evaluation", "override_reason", "authority_level"
    ).order_by(*ORDERING)


def correction_records(decisions: list[Decision]) -> list[dict]:
    """The records for a page of `final_decisions()`: three queries whatever its length."""
    if not decisions:
        return []
    cases = [d.case for d in decisions]
    outcomes = _outcomes_by_case(cases)
    rules = _RulesInForce(cases)
    return [_record(d, outcomes[d.case_id], rules.at(d.case)) for d in decisions]


def _record(decision: Decision, outcomes: list[Outcome], rule_versions: list[dict]) -> dict:
    case = decision.case
    evaluation = case.evaluation
    return {
        "decision": str(decision.id),
        "case": str(case.id),
        "journey": case.journey.slug,
        "route_reason": case.route_reason,
        "opened_at": case.opened_at.isoformat(),
        "decided_at": decision.decided_at.isoformat(),
        "ai": {
            "action": {
                "type": case.action_type,
                "irreversible": case.irreversible,
                "amount": str(case.amount) if case.amount is not None else None,
                "currency": case.currency,
            },
            "proposal": case.proposal,
            "confidence": case.confidence,
            "signals": evaluation.signals if evaluation else {},
        },
        "human": {
            "outcome": decision.outcome,
            "final_action": decision.final_action,
            "overridden": decision.is_override,
            "override_reason": decision.override_reason.code if decision.override_reason else None,
            "rationale": mask_pii(decision.rationale),
            "authority_level": decision.authority_level.name,
            "review_round": decision.review_round,
        },
        "outcome": _outcome_summary(outcomes),
        "judgement_points_fired": [
            {"slug": match["slug"], "version": match["version"]}
            for match in (evaluation.matched if evaluation else [])
        ],
        "rule_versions": rule_versions,
    }


def _outcomes_by_case(cases) -> dict:
    by_evaluation = {case.evaluation_id: case.pk for case in cases if case.evaluation_id}
    found = Outcome.objects.filter(
        Q(case__in=[case.pk for case in cases]) | Q(evaluation__in=list(by_evaluation))
    ).order_by("reported_at", "id")
    grouped: dict = defaultdict(list)
    for outcome in found:
        grouped[outcome.case_id or by_evaluation.get(outcome.evaluation_id)].append(outcome)
    return grouped


def _outcome_summary(outcomes: list[Outcome]) -> dict | None:
    """None when nothing was reported; else each flag True if any report said so, False if
    reports said no, None if none spoke of it; the effort of the latest report giving one."""
    if not outcomes:
        return None

    def flag(name: str):
        values = [getattr(o, name) for o in outcomes if getattr(o, name) is not None]
        return any(values) if values else None

    efforts = [o.customer_effort for o in outcomes if o.customer_effort is not None]
    return {
        "complaint": flag("complaint"),
        "reversed": flag("reversed"),
        "repeat_contact": flag("repeat_contact"),
        "customer_effort": efforts[-1] if efforts else None,
        "reports": len(outcomes),
    }


class _RulesInForce:
    """The version of each judgement point of a journey in force at a moment, from the points'
    history: one query for every journey of the page."""

    def __init__(self, cases):
        journeys = {case.journey_id for case in cases}
        latest = max(case.opened_at for case in cases)
        self.rows: dict = defaultdict(list)
        history = JudgementPoint.history.filter(
            journey_id__in=journeys, history_date__lte=latest
        ).order_by("history_date", "history_id")
        for row in history.only(
            "id", "journey_id", "slug", "version", "is_active", "history_type", "history_date"
        ):
            self.rows[row.journey_id].append(row)

    def at(self, case) -> list[dict]:
        standing: dict = {}
        for row in self.rows[case.journey_id]:
            if row.history_date > case.opened_at:
                break
            standing[row.id] = row
        return sorted(
            (
                {"slug": row.slug, "version": row.version}
                for row in standing.values()
                if row.history_type != "-" and row.is_active
            ),
            key=lambda item: item["slug"],
        )
