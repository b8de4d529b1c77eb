"""The human oversight report: one AI system over one period, as evidence for an auditor.

Covers what the EU AI Act asks a deployer to show (Art. 4 literacy, Art. 12/19 logs, Art. 14
oversight, Art. 26 deployer duties): the system and its rules, the people and their authority,
what they did, when automation was stopped, what came of it, and how the log was kept.

Every activity figure comes from `oversight.metrics`, the functions the admin dashboard calls,
for the same period and scope, so a figure in the PDF and on the dashboard agree; the rest
comes from `oversight.reports.oversight_queries`. Lists are bounded ("and N more"), so the cost
of building and drawing the report does not grow with the number of records. `data` holds
every figure shown, as plain JSON, and is fingerprinted by the rendering pipeline.
"""

import datetime
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from audit.services.retention import RETENTION_SETTINGS, retention_days
from literacy.services.status import training_status_by_user
from oversight.metrics import (
    EFFORT_ROUTES,
    Period,
    Scope,
    customer_effort_by_route,
    figures,
    figures_by,
    time_to_decision,
    time_to_decision_by_point,
)
from oversight.metrics.definitions import definition
from oversight.metrics.definitions import label as figure_label
from oversight.metrics.definitions import percent as shared_percent
from oversight.models import (
    AISystem,
    AuthorityLevel,
    Guardrail,
    Journey,
    JudgementPoint,
    TriggerCondition,
)
from oversight.reports import oversight_authority as authority
from oversight.reports import oversight_queries as queries
from oversight.reports import oversight_trend as trends
from oversight.reports.oversight_bias import bias_display, bias_section
from oversight.reports.oversight_display import display
from oversight.reports.oversight_incidents import incidents_section
from oversight.reports.oversight_shadow import shadow_section
from oversight.reports.oversight_stops import stops_section
from oversight.reports.rendering import ReportDocument, ReportParameterError, parse_day

TEMPLATE = "reports/oversight_report.html"
MAX_CHANGES = 100
MAX_GRANTS = 200
MAX_EXCEPTIONS = 50
OVERRIDE_SAMPLE = 20
MAX_PERIOD_DAYS = 3700  # ten years: beyond that a date is a typo

TOC = [
    ("system", "1. The AI system"),
    ("design", "2. Oversight design"),
    ("people", "3. The people"),
    ("activity", "4. Oversight activity"),
    ("stops", "5. The stop button and guardrail pauses"),
    ("outcomes", "6. Outcomes by route"),
    ("overrides", "7. A sample of overrides"),
    ("trends", "8. Trends"),
    ("integrity", "9. Log integrity"),
    ("bias", "10. Automation bias watch"),
    ("incidents", "11. Serious incidents"),
    ("sign-off", "12. Sign-off"),
]

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

ROUTE_LABELS = {route: figure_label(f"route_{route}") for route in EFFORT_ROUTES}


# --- formatting (data holds only JSON types, already as the report prints them) --------------


def _when(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _day(day: datetime.date | None) -> str | None:
    return None if day is None else day.isoformat()


def percent(value: float | None) -> str:
    """A rate as the report prints it: the one rule of `oversight.metrics.definitions`."""
    return shared_percent(value)


def _number(value) -> float | int | str | None:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _person(user) -> str | None:
    if user is None:
        return None
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{name} ({user.get_username()})" if name else user.get_username()


# --- parameters ------------------------------------------------------------------------------


def parse_params(params: dict) -> tuple[AISystem, datetime.date, datetime.date, Period]:
    """The AI system and the inclusive days asked for, as a half-open Period in the project time
    zone; ReportParameterError for anything else."""
    slug = params.get("system")
    if not slug or not isinstance(slug, str):
        raise ReportParameterError("Choose the AI system the report is about.")
    first = parse_day(params, "start")
    last = parse_day(params, "end")
    if last < first:
        raise ReportParameterError(
            f"The end date {last.isoformat()} is before the start date {first.isoformat()}."
        )
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ReportParameterError("The period is longer than ten years: check the dates.")
    system = (
        AISystem.objects.select_related("owner").filter(slug=slug[:80]).first()
        if len(slug) <= 80
        else None
    )
    if system is None:
        raise ReportParameterError(f"There is no AI system {slug[:80]!r}.")
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min)
    )
    return system, first, last, Period(start=start, end=end)


# --- sections --------------------------------------------------------------------------------


def _system_section(system: AISystem, period: Period, first, last) -> dict:
    versions = queries.rule_versions(ai_system=system, period=period)
    briefings = queries.briefings_in_force(ai_system=system, first_day=first, last_day=last)
    return {
        "name": system.name,
        "slug": system.slug,
        "provider": system.provider,
        "intended_purpose": system.intended_purpose,
        "risk_category": system.get_risk_category_display(),
        "owner": _person(system.owner),
        "is_active": system.is_active,
        "rule_versions": [
            {
                "journey": v.journey.name,
                "point": v.name,
                "slug": v.slug,
                "version": v.version,
                "recorded_at": _when(v.history_date),
                "in_force_from": _when(max(v.history_date, period.start)),
            }
            for v in versions
        ],
        "briefings": [
            {
                "version": b.version,
                "published_on": _day(b.published_on),
                "published_by": _person(b.published_by),
            }
            for b in briefings
        ],
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
        return _number(value)

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


def _design_section(system: AISystem, period: Period) -> dict:
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
                    "at": _when(row.history_date),
                    "sort": (row.history_date.isoformat(), row.history_id),
                    "by": _person(row.history_user)
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
                "sampling_rate": _number(j.sampling_rate),
                "default_sla_minutes": j.default_sla_minutes,
                "required_context_keys": list(j.required_context_keys or []),
                "allow_pii_in_proposal": j.allow_pii_in_proposal,
                "guardrails": [
                    {
                        "kind": g.get_kind_display(),
                        "threshold": _number(g.threshold),
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
                "sampling_rate": _number(p.sampling_rate),
            }
            for p in points
        ],
        "changes": changes,
        "changes_total": total,
        "changes_more": max(total - len(changes), 0),
    }


def _training_label(statuses) -> tuple[bool, str]:
    missing = [s.title for s in statuses if not s.is_current]
    if not statuses:
        return True, "none required"
    if missing:
        return False, "not current: " + ", ".join(missing)
    return True, "current"


def _people_section(system: AISystem, period: Period) -> dict:
    grants = queries.grants_during(ai_system=system, period=period, limit=MAX_GRANTS)
    last_moment = period.end - datetime.timedelta(microseconds=1)
    statuses = training_status_by_user({g.user_id for g in grants.rows}, at=last_moment)
    exceptions = authority.decisions_outside_authority(
        ai_system=system, period=period, limit=MAX_EXCEPTIONS
    )
    reasons = {
        "no_grant": "no grant recorded",
        "other_person": "grant of another person",
        "other_scope": "grant does not cover the journey",
        "may_not_decide": "level may not decide",
        "not_in_force": "grant not in force",
        "training_missing": "required training not current",
        "briefing_missing": "system briefing not acknowledged",
    }
    rows = []
    for g in grants.rows:
        current, label = _training_label(statuses.get(g.user_id, []))
        rows.append(
            {
                "person": _person(g.user),
                "level": g.level.name,
                "scope": g.journey.name if g.journey_id else f"{system.name} (every journey)",
                "granted_by": _person(g.granted_by) or "initial set-up",
                "valid_from": _when(g.valid_from),
                "valid_until": _when(g.valid_until),
                "revoked_at": _when(g.revoked_at),
                "revoked_by": _person(g.revoked_by),
                "training_current": current,
                "training": label,
            }
        )
    return {
        "grants": rows,
        "grants_total": grants.total,
        "grants_more": grants.more,
        "training_as_of": _when(last_moment),
        "without_authority_total": exceptions.total,
        "without_authority_more": exceptions.more,
        "without_authority": [
            {
                "decided_at": _when(d.decided_at),
                "reviewer": _person(d.reviewer),
                "case": str(d.case_id)[:8],
                "journey": d.case.journey.name,
                "outcome": d.get_outcome_display(),
                "grant_level": d.grant.level.name if d.grant_id else None,
                "reasons": [label for key, label in reasons.items() if getattr(d, key)],
            }
            for d in exceptions.rows
        ],
    }


def _activity_section(system: AISystem, period: Period) -> dict:
    scope = Scope(ai_system=system)
    totals = figures(period=period, scope=scope)
    by_point = figures_by("judgement_point", period=period, scope=scope)
    speed = time_to_decision(period=period, scope=scope)
    points = list(
        JudgementPoint.objects.filter(journey__ai_system=system)
        .select_related("journey")
        .order_by("journey__name", "name")
    )
    shown = [point for point in points if point.pk in by_point]
    # One grouped query for every point's time to decision (on PostgreSQL), not one per point.
    speeds = time_to_decision_by_point(period=period, points=shown)
    point_rows = []
    for point in shown:
        row = by_point[point.pk]
        point_speed = speeds[point.pk]
        point_rows.append(
            {
                "journey": point.journey.name,
                "point": point.name,
                "figures": row.as_dict(),
                "time_to_decision": {
                    "count": point_speed.count,
                    "median": point_speed.median,
                    "p90": point_speed.p90,
                },
            }
        )
    return {
        "cases_opened": queries.cases_opened(ai_system=system, period=period),
        "totals": totals.as_dict(),
        "time_to_decision": {"count": speed.count, "median": speed.median, "p90": speed.p90},
        "four_eyes": queries.four_eyes_outcomes(ai_system=system, period=period),
        "by_point": point_rows,
    }


def _stops_section(system: AISystem, period: Period) -> dict:
    # Every stop and resumption by a person in full; guardrail pauses summarised per journey.
    return stops_section(ai_system=system, period=period)


def _outcomes_section(system: AISystem, period: Period, totals: dict) -> dict:
    effort = customer_effort_by_route(period=period, scope=Scope(ai_system=system))
    answers = queries.outcome_answers(ai_system=system, period=period)
    return {
        "effort_by_route": [
            {
                "route": route,
                "label": ROUTE_LABELS[route],
                "definition": definition(f"route_{route}"),
                "count": value.count,
                "median": value.median,
                "p90": value.p90,
            }
            for route, value in effort.items()
        ],
        "outcomes": totals["outcomes"],
        "repeat_contacts": totals["repeat_contacts"],
        "repeat_contact_answers": totals["repeat_contact_answers"],
        "repeat_contact_rate": totals["repeat_contact_rate"],
        "reversals": totals["reversals"],
        "reversal_answers": totals["reversal_answers"],
        "reversal_rate": totals["reversal_rate"],
        **answers,
        "complaint_rate": (
            answers["complaints"] / answers["complaint_answers"]
            if answers["complaint_answers"]
            else None
        ),
    }


def _overrides_section(system: AISystem, period: Period, total: int) -> dict:
    sample = queries.recent_overrides(ai_system=system, period=period, limit=OVERRIDE_SAMPLE)
    return {
        "total": total,
        "shown": len(sample),
        "sample": [
            {
                "decided_at": _when(d.decided_at),
                "reviewer": _person(d.reviewer),
                "level": d.authority_level.name,
                "journey": d.case.journey.name,
                "case": str(d.case_id)[:8],
                "outcome": d.get_outcome_display(),
                "reason": d.override_reason.label if d.override_reason_id else "",
                "rationale": d.rationale,
            }
            for d in sample
        ],
    }


def _trend_section(system: AISystem, period: Period) -> dict:
    size = trends.bucket_size(period)
    days = trends.buckets(period, size)
    counts = trends.trend(ai_system=system, period=period, size=size)
    series = []
    for day in days:
        row = counts.get(day, {})
        calls, routed = row.get("gate_calls", 0), row.get("routed", 0)
        live, overrides = row.get("live_decisions", 0), row.get("overrides", 0)
        judged, blocked = row.get("cases_judged", 0), row.get("blocked", 0)
        series.append(
            {
                "bucket": day.isoformat(),
                "gate_calls": calls,
                "routed": routed,
                "blocked": blocked,
                "routed_share": routed / calls if calls else None,
                "live_decisions": live,
                "cases_judged": judged,
                "overrides": overrides,
                "override_rate": overrides / judged if judged else None,
            }
        )
    return {"bucket": size, "series": series}


def _integrity_section() -> dict:
    facts = queries.ledger_facts()
    verification = facts["verification"]
    return {
        "audit_events": facts["events"],
        "oldest_event": _when(facts["oldest_event"]),
        "newest_event": _when(facts["newest_event"]),
        "oldest_gate_evaluation": _when(facts["oldest_gate_evaluation"]),
        "retention": [
            {"setting": name, "what": what, "days": retention_days(name)}
            for name, what in RETENTION_SETTINGS.items()
        ],
        "latest_verification": None
        if verification is None
        else {
            "verified_at": _when(verification.verified_at),
            "ok": verification.ok,
            "from_sequence": verification.from_sequence,
            "head_sequence": verification.head_sequence,
            "head_hash": verification.head_hash,
            "count": verification.count,
            "broken_at": verification.broken_at,
            "reason": verification.reason,
            "since_checkpoint": verification.since_checkpoint,
            "triggered_by": verification.get_triggered_by_display(),
        },
        "time_zone": settings.TIME_ZONE,
    }


def build(params: dict, *, progress: Callable[[int, str], None] | None = None) -> ReportDocument:
    """Collect the human oversight report of one AI system over one period.

    params: {"system": AI system slug, "start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, both days
    included, in the project time zone. Raises ReportParameterError, having read nothing but
    the AI system, for an unknown system or malformed or reversed dates. A fixed number of
    queries for any number of records (it grows only with the number of judgement points).
    """

    def step(percent_done: int, message: str) -> None:
        if progress is not None:
            progress(percent_done, message)

    system, first, last, period = parse_params(params)
    step(10, "The AI system and its rules")
    data: dict = {
        "report": "human-oversight",
        "period": {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "time_zone": settings.TIME_ZONE,
        },
        "system": _system_section(system, period, first, last),
    }
    step(15, "Oversight design and its changes")
    data["design"] = _design_section(system, period)
    step(25, "People and authority")
    data["people"] = _people_section(system, period)
    step(35, "Oversight activity")
    data["activity"] = _activity_section(system, period)
    step(40, "Stop button and guardrails")
    data["stops"] = _stops_section(system, period)
    data["shadow"] = shadow_section(ai_system=system, period=period)  # Art. 9(7)-(8), 26
    step(45, "Outcomes")
    data["outcomes"] = _outcomes_section(system, period, data["activity"]["totals"])
    data["overrides"] = _overrides_section(system, period, data["activity"]["totals"]["overrides"])
    step(50, "Trends and log integrity")
    data["trends"] = _trend_section(system, period)
    data["integrity"] = _integrity_section()
    data["bias"] = bias_section(ai_system=system, period=period)  # Art. 14(4)(b)
    data["incidents"] = incidents_section(ai_system=system, period=period)  # Art. 26(5), 73
    activity = data["activity"]
    data["has_activity"] = bool(
        activity["totals"]["gate_calls"]
        or activity["cases_opened"]
        or activity["totals"]["cases_decided"]
        or activity["totals"]["live_decisions"]
        or activity["totals"]["sample_audits"]
    )
    subtitle = f"{system.name} · {first.isoformat()} to {last.isoformat()}"
    return ReportDocument(
        template=TEMPLATE,
        title="Human oversight report",
        subtitle=subtitle,
        context={"data": data, "show": {**display(data), **bias_display(data["bias"])}},
        data=data,
        toc=list(TOC),
    )
