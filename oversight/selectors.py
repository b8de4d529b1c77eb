"""Read-side queries and views of cases shared by the API, webhooks, admin and reports."""

from oversight.models import Case, CaseStatus, Decision, DecisionOutcome, RouteReason

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
        return {"instruction": "proceed", "may_proceed": True, "action": case.proposal}
    if decision.outcome == DecisionOutcome.MODIFY:
        return {
            "instruction": "proceed_with_changes",
            "may_proceed": True,
            "action": decision.final_action,
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
    return Case.objects.select_related("journey").prefetch_related("decisions__override_reason")
