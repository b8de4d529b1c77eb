"""The case dossier: one case, end to end, as evidence.

What the system saw and tried, why it was routed (the gate evaluation's matched judgement points
at the versions that fired, with the values that fired them), every claim, decision, escalation
and second review with who and when, every recorded version of the case and its decisions, the
outcomes reported later, and the case's audit ledger events. Everything the AI system supplied is
untrusted text: the template prints it escaped, never as markup. Long parts are bounded and the
rest counted, because WeasyPrint's time grows steeply with long tables.
"""

import datetime
import json
import uuid

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import (
    AuthorityLevel,
    Case,
    Decision,
    DecisionStage,
    JudgementPoint,
    Operator,
    Outcome,
)
from oversight.models.judgement import VALUELESS_OPERATORS
from oversight.reports.registers import person
from oversight.reports.rendering import ReportDocument, ReportParameterError

LEDGER_EVENT_LIMIT = 200
HISTORY_LIMIT = 100
OUTCOME_LIMIT = 50
ITEM_LIMIT = 100  # keys of a context or proposal
VALUE_LIMIT = 2000  # characters of one value
CHANGE_LIMIT = 160  # characters of one changed value in the version list

HISTORY_TYPES = {"+": "Created", "~": "Changed", "-": "Deleted"}


def _noop(percent: int, message: str) -> None:
    pass


def _text(value, limit: int = VALUE_LIMIT) -> str:
    """A value as plain text (JSON for structures), cut at `limit` characters with a count."""
    if value is None:
        text = "–"
    elif isinstance(value, datetime.datetime):  # in the report's time zone, to the second
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    else:
        text = str(value)
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters not shown)"
    return text


def _item_text(value) -> str:
    """One value of a key/value table as a person reads it: Yes/No, "none" for an empty list."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list) and not value:
        return "none"
    return _text(value)


def _items(value) -> tuple[list[tuple[str, str]], int]:
    """(key, text) pairs of a JSON document, at most ITEM_LIMIT, and how many were left out."""
    if isinstance(value, dict):
        pairs = [(str(key), _item_text(item)) for key, item in value.items()]
    elif isinstance(value, list):
        pairs = [(f"{index + 1}", _item_text(item)) for index, item in enumerate(value)]
    elif value in (None, ""):
        pairs = []
    else:
        pairs = [("value", _text(value))]
    return pairs[:ITEM_LIMIT], max(len(pairs) - ITEM_LIMIT, 0)


def _case_id(params: dict) -> uuid.UUID:
    value = params.get("case")
    if not value:
        raise ReportParameterError("The case is required (its id).")
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ReportParameterError(f"{str(value)[:80]!r} is not a case id.") from None


def _condition(fired: dict) -> str:
    operator = fired.get("operator", "")
    label = Operator(operator).label if operator in Operator.values else str(operator)
    signal = str(fired.get("signal", ""))
    if operator in VALUELESS_OPERATORS:
        return f"{signal} {label}"
    return (
        f"{signal} {label} {_text(fired.get('value'), 200)} (was {_text(fired.get('actual'), 200)})"
    )


def _routing(case: Case) -> dict:
    evaluation = case.evaluation
    matched = list(evaluation.matched) if evaluation is not None else []
    ids = [m.get("judgement_point") for m in matched if m.get("judgement_point")]
    names = dict(JudgementPoint.objects.filter(id__in=ids).values_list("id", "name"))
    names = {str(key): value for key, value in names.items()}
    points = [
        {
            "name": names.get(str(m.get("judgement_point")), m.get("slug", "")),
            "slug": m.get("slug", ""),
            "version": m.get("version"),
            "combinator": "all" if m.get("combinator") == "all" else "any",
            "conditions": [_condition(fired) for fired in m.get("fired", [])],
        }
        for m in matched
    ]
    signals, signals_omitted = _items(evaluation.signals if evaluation else {})
    server_signals, server_omitted = _items(evaluation.server_signals if evaluation else {})
    return {
        "evaluation": evaluation,
        "reasons": [_text(r, 500) for r in (evaluation.reasons if evaluation else [])],
        "points": points,
        "case_points": [str(p) for p in case.judgement_points.all()],
        "signals": signals,
        "signals_omitted": signals_omitted,
        "server_signals": server_signals,
        "server_signals_omitted": server_omitted,
    }


# Foreign keys a version may change, shown by name rather than by id (issue #15).
_NAMED_FIELDS = {
    "claimed_by": "user",
    "reviewer": "user",
    "required_level": "level",
    "authority_level": "level",
    "override_reason": "reason",
}


class _Names:
    """Names for the ids found in version changes: people, authority levels, override reasons.

    Looked up once per kind for all versions, so the query count does not grow with them.
    """

    def __init__(self, changes: list):
        from oversight.models import OverrideReason

        wanted: dict[str, set] = {"user": set(), "level": set(), "reason": set()}
        for change in changes:
            kind = _NAMED_FIELDS.get(change.field)
            if kind:
                wanted[kind].update(v for v in (change.old, change.new) if v is not None)
        users = get_user_model().objects.in_bulk(wanted["user"]) if wanted["user"] else {}
        levels = AuthorityLevel.objects.in_bulk(wanted["level"]) if wanted["level"] else {}
        reasons = OverrideReason.objects.in_bulk(wanted["reason"]) if wanted["reason"] else {}
        self.names = {
            "user": {str(k): person(v) for k, v in users.items()},
            "level": {str(k): v.name for k, v in levels.items()},
            "reason": {str(k): v.label for k, v in reasons.items()},
        }

    def show(self, field: str, value) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool):
            return "Yes" if value else "No"
        kind = _NAMED_FIELDS.get(field)
        if kind:
            return self.names[kind].get(str(value), f"{kind} {value}")
        return _text(value, CHANGE_LIMIT)


def _versions(records: list, label) -> list[dict]:
    """Each history record with what changed against the one before it (same object)."""
    previous: dict = {}
    diffs = []
    for record in records:
        before = previous.get(record.id)
        diffs.append(record.diff_against(before).changes if before is not None else [])
        previous[record.id] = record
    names = _Names([change for changes in diffs for change in changes])
    versions = []
    for record, diff in zip(records, diffs, strict=True):
        changes = [
            f"{change.field}: {names.show(change.field, change.old)} → "
            f"{names.show(change.field, change.new)}"
            for change in diff
        ]
        versions.append(
            {
                "object": label(record),
                "history_id": record.history_id,
                "date": record.history_date,
                "type": HISTORY_TYPES.get(record.history_type, record.history_type),
                "by": person(record.history_user) if record.history_user_id else "HITL Oversight",
                "reason": record.history_change_reason or "",
                "changes": changes,
            }
        )
    return versions


def _sla(case: Case, case_history: list) -> dict:
    """The deadline that was in force, when it was breached, and the one set after the breach.

    A breach escalates the case and gives it a new deadline; the case row then holds only the
    new one. The deadline that was missed is the one its last version before the breach held.
    """
    if case.sla_breached_at is None:
        return {"deadline": case.sla_deadline, "breached_at": None, "renewed_deadline": None}
    before = [r for r in case_history if r.sla_breached_at is None]
    missed = before[-1].sla_deadline if before else None
    return {
        "deadline": missed or case.sla_deadline,
        "breached_at": case.sla_breached_at,
        "renewed_deadline": case.sla_deadline if missed else None,
    }


def build_dossier(params: dict, *, progress=_noop) -> ReportDocument:
    """Everything recorded about one case, for an auditor, in a bounded number of queries."""
    case_id = _case_id(params)
    case = (
        Case.objects.select_related(
            "journey__ai_system", "required_level", "claimed_by", "evaluation"
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise ReportParameterError(f"There is no case {case_id}.")
    progress(10, "Reading the case")
    users = get_user_model()

    case_history = list(
        case.history.order_by("history_date", "history_id").select_related("history_user")
    )
    decisions = list(
        Decision.objects.filter(case=case)
        .select_related("reviewer", "authority_level", "override_reason", "grant")
        .order_by("review_round", "decided_at", "stage")
    )
    decision_ids = [d.pk for d in decisions]
    decision_history = list(
        Decision.history.filter(id__in=decision_ids)
        .order_by("history_date", "history_id")
        .select_related("history_user")
    )

    # Claims and escalations, from the case's versions: each one left its own version.
    claimer_ids = {r.claimed_by_id for r in case_history if r.claimed_by_id}
    claimers = users.objects.in_bulk(claimer_ids)
    levels = AuthorityLevel.objects.in_bulk({r.required_level_id for r in case_history})
    claims, escalations = [], []
    previous = None
    for record in case_history:
        if record.claimed_by_id and (
            previous is None
            or previous.claimed_by_id != record.claimed_by_id
            or previous.claimed_at != record.claimed_at
        ):
            claims.append(
                {
                    "by": person(claimers.get(record.claimed_by_id)),
                    "at": record.claimed_at or record.history_date,
                    "expires": record.claim_expires_at,
                    "round": record.review_round,
                }
            )
        if previous is not None and record.review_round > previous.review_round:
            escalations.append(
                {
                    "at": record.history_date,
                    "by": person(record.history_user)
                    if record.history_user_id
                    else "HITL Oversight",
                    "from_level": levels[previous.required_level_id].name,
                    "to_level": levels[record.required_level_id].name,
                    "round": record.review_round,
                    "note": record.escalation_note,
                    "reason": "",
                }
            )
        previous = record
    progress(25, "Reading the audit ledger")

    outcomes_filter = Q(case=case)
    if case.evaluation_id:
        outcomes_filter |= Q(evaluation_id=case.evaluation_id)
    outcomes_qs = Outcome.objects.filter(outcomes_filter).order_by("reported_at", "id")
    outcome_ids = [str(pk) for pk in outcomes_qs.values_list("pk", flat=True)]
    outcomes = list(outcomes_qs.select_related("reported_by")[:OUTCOME_LIMIT])

    events_filter = (
        Q(object_type="oversight.case", object_id=str(case.pk))
        | Q(object_type="oversight.decision", object_id__in=[str(pk) for pk in decision_ids])
        | Q(object_type="oversight.outcome", object_id__in=outcome_ids)
    )
    if case.evaluation_id:
        events_filter |= Q(
            object_type="oversight.gateevaluation", object_id=str(case.evaluation_id)
        )
    # Chained events only: the report pins the ledger head they lie under.
    chained = AuditEvent.objects.filter(sequence__isnull=False)
    events_qs = chained.filter(events_filter).order_by("sequence")
    events_total = events_qs.count()
    events = list(
        events_qs.only(
            "sequence",
            "occurred_at",
            "actor_type",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "hash",
        )[:LEDGER_EVENT_LIMIT]
    )
    reasons_by_round = {
        event.payload.get("round"): event.payload.get("reason", "")
        for event in AuditEvent.objects.filter(
            object_type="oversight.case", object_id=str(case.pk), action="case.escalated"
        ).only("payload")
    }
    for escalation in escalations:
        escalation["reason"] = str(reasons_by_round.get(escalation["round"], "") or "")

    short = {str(d.pk): d for d in decisions}
    versions_total = len(case_history) + len(decision_history)
    versions = _versions(case_history[:HISTORY_LIMIT], lambda r: "Case") + _versions(
        decision_history[:HISTORY_LIMIT],
        lambda r: (
            f"Decision {str(r.id)[:8]} ({short[str(r.id)].get_stage_display().lower()}, "
            f"round {r.review_round})"
            if str(r.id) in short
            else f"Decision {str(r.id)[:8]}"
        ),
    )
    versions_shown = len(versions)
    sla = _sla(case, case_history)
    progress(40, "Case collected")

    context_items, context_omitted = _items(case.context)
    proposal_items, proposal_omitted = _items(case.proposal)
    decision_rows = [
        {
            "id": str(d.pk),
            "round": d.review_round,
            "stage": d.get_stage_display(),
            "is_second": d.stage == DecisionStage.SECOND,
            "reviewer": person(d.reviewer),
            "outcome": d.get_outcome_display(),
            "is_override": d.is_override,
            "override_reason": d.override_reason.label if d.override_reason else "",
            "rationale": _text(d.rationale) if d.rationale else "",
            "level": d.authority_level.name,
            "grant": str(d.grant_id) if d.grant_id else "",
            "time_spent": d.time_spent_seconds,
            "decided_at": d.decided_at,
            "final_action": _text(d.final_action) if d.final_action is not None else "",
        }
        for d in decisions
    ]
    routing = _routing(case)
    data = {
        "kind": "dossier",
        "case": str(case.pk),
        "status": case.status,
        "route_reason": case.route_reason,
        "review_round": case.review_round,
        "evaluation": str(case.evaluation_id) if case.evaluation_id else None,
        "matched": [{"slug": p["slug"], "version": p["version"]} for p in routing["points"]],
        "claims": len(claims),
        "escalations": len(escalations),
        "decisions": [
            {"id": row["id"], "round": row["round"], "outcome": d.outcome, "stage": d.stage}
            for row, d in zip(decision_rows, decisions, strict=True)
        ],
        "outcomes": outcome_ids,
        "versions": versions_total,
        "ledger_events": events_total,
        "ledger_events_shown": [[e.sequence, e.hash] for e in events],
    }
    return ReportDocument(
        template="reports/case_dossier.html",
        title="Case dossier",
        subtitle=f"Case {case.pk} · opened {case.opened_at:%Y-%m-%d}",
        context={
            "case": case,
            "ai_system": case.journey.ai_system,
            "context_items": context_items,
            "context_omitted": context_omitted,
            "proposal_items": proposal_items,
            "proposal_omitted": proposal_omitted,
            "confidence_reasons": [_text(r, 500) for r in (case.confidence_reasons or [])][
                :ITEM_LIMIT
            ],
            "options": [_text(o, 200) for o in (case.options or [])][:ITEM_LIMIT],
            "routing": routing,
            "sla": sla,
            "claims": claims,
            "decisions": decision_rows,
            "second_reviews": [row for row in decision_rows if row["is_second"]],
            "escalations": escalations,
            "outcomes": outcomes,
            "outcomes_omitted": len(outcome_ids) - len(outcomes),
            "versions": versions,
            "versions_omitted": versions_total - versions_shown,
            "events": events,
            "events_total": events_total,
            "events_omitted": events_total - len(events),
            "event_limit": LEDGER_EVENT_LIMIT,
            "sign_off_role": "Compliance officer",
            "sign_off_statement": (
                "By signing, I confirm that I have reviewed this dossier, that it was generated "
                "by HITL Oversight from the case's records and audit ledger identified above, "
                "and that it is a complete account of the case as recorded."
            ),
        },
        data=data,
        toc=[
            ("summary", "Case summary"),
            ("saw", "What the system saw"),
            ("tried", "What the system tried"),
            ("routing", "Why it was routed to a person"),
            ("claims", "Claims"),
            ("decisions", "Decisions"),
            ("escalations", "Escalations"),
            ("second-reviews", "Second reviews"),
            ("outcomes", "Outcomes"),
            ("versions", "Recorded versions"),
            ("ledger", "Audit ledger events"),
            ("sign-off", "Sign-off"),
        ],
    )
