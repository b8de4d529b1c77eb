"""Section 2 of the oversight report, the oversight design: the journeys, judgement points,
triggers and guardrails of the AI system as they stand, and how they changed in the period
(from their history, bounded to MAX_CHANGES)."""

from oversight.metrics import Period
from oversight.models import (
    AISystem,
    AuthorityLevel,
    Guardrail,
    Journey,
    JudgementPoint,
    TriggerCondition,
)
from oversight.reports import oversight_queries as queries
from oversight.reports.oversight_format import person_text, plain_number, when_text

MAX_CHANGES = 100

FIELD_LABELS = {
    "required_context_keys": "required context",
    "allow_pii_in_proposal": "personal data allowed in proposals",
    "sampling_rate": "sampling rate",
    "default_sla_minutes": "default SLA (min)",
    "combinator": "conditions combined with",
    "required_level_id": "required level",
    "sla_minutes": "SLA (min)",
    "four_eyes": "four eyes",
    "is_active": "active",
    "min_sample": "minimum sample",
}


def _condition_text(condition) -> str:
    return str(condition)


def _describe_change(model, row, before, levels: dict) -> tuple[str, str]:
    """(what object, what changed) for one design history row."""
    if model is Journey:
        label = f"Journey {row.name}"
    elif model is JudgementPoint:
        label = f"Judgement point {row.journey.name} / {row.name}"
    elif model is TriggerCondition:
        label = f"Trigger of {row.judgement_point.name}"
    else:
        label = f"Guardrail on {row.journey.name}"

    def shown(version, name):
        value = getattr(version, name)
        if name == "required_level_id":
            return levels.get(value, str(value))
        if name == "judgement_point_id":
            return None
        return plain_number(value)

    if row.history_type == "+":
        if model is TriggerCondition:
            return label, f"condition added: {_condition_text(row.instance)}"
        return label, "created"
    if row.history_type == "-":
        if model is TriggerCondition:
            return label, f"condition removed: {_condition_text(row.instance)}"
        return label, "deleted"
    previous = before.get(row.previous_history_id)
    if model is TriggerCondition and previous is not None:
        return label, (
            f"condition changed: {_condition_text(previous.instance)} → "
            f"{_condition_text(row.instance)}"
        )
    parts = []
    for name in queries.DESIGN_FIELDS[model]:
        old = shown(previous, name) if previous is not None else None
        new = shown(row, name)
        if previous is None or old != new:
            parts.append(f"{FIELD_LABELS.get(name, name)}: {old} → {new}")
    return label, "; ".join(parts) or "changed"


def design_section(system: AISystem, period: Period) -> dict:
    journeys = list(
        Journey.objects.filter(ai_system=system).order_by("name").prefetch_related("guardrails")
    )
    points = list(
        JudgementPoint.objects.filter(journey__ai_system=system)
        .select_related("journey", "required_level")
        .prefetch_related("conditions")
        .order_by("journey__name", "name")
    )
    levels = dict(AuthorityLevel.objects.values_list("id", "name"))
    changes = []
    total = 0
    for model in (Journey, JudgementPoint, TriggerCondition, Guardrail):
        count, rows, before = queries.design_changes(
            model, ai_system=system, period=period, limit=MAX_CHANGES
        )
        total += count
        for row in rows:
            what, change = _describe_change(model, row, before, levels)
            changes.append(
                {
                    "at": when_text(row.history_date),
                    "sort": (row.history_date.isoformat(), row.history_id),
                    "by": person_text(row.history_user)
                    or (row.history_change_reason or "the product (no person recorded)"),
                    "what": what,
                    "change": change,
                }
            )
    changes.sort(key=lambda c: c["sort"])
    changes = [{k: v for k, v in c.items() if k != "sort"} for c in changes[:MAX_CHANGES]]
    return {
        "journeys": [
            {
                "name": j.name,
                "slug": j.slug,
                "automation_state": j.get_automation_state_display(),
                "sampling_rate": plain_number(j.sampling_rate),
                "default_sla_minutes": j.default_sla_minutes,
                "required_context_keys": list(j.required_context_keys or []),
                "allow_pii_in_proposal": j.allow_pii_in_proposal,
                "guardrails": [
                    {
                        "kind": g.get_kind_display(),
                        "threshold": plain_number(g.threshold),
                        "window": g.window,
                        "min_sample": g.min_sample,
                        "is_active": g.is_active,
                    }
                    for g in j.guardrails.all()
                ],
            }
            for j in journeys
        ],
        "judgement_points": [
            {
                "journey": p.journey.name,
                "name": p.name,
                "slug": p.slug,
                "version": p.version,
                "is_active": p.is_active,
                "trigger": (" AND " if p.combinator == "all" else " OR ").join(
                    _condition_text(c) for c in p.conditions.all()
                )
                or "(no conditions)",
                "required_level": p.required_level.name,
                "sla_minutes": p.sla_minutes,
                "four_eyes": p.four_eyes,
                "sampling_rate": plain_number(p.sampling_rate),
            }
            for p in points
        ],
        "changes": changes,
        "changes_total": total,
        "changes_more": max(total - len(changes), 0),
    }
