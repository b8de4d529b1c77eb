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
from oversight.models import (
    AISystem,
    JudgementPoint,
)
from oversight.reports import oversight_authority as authority
from oversight.reports import oversight_queries as queries
from oversight.reports import oversight_trend as trends
from oversight.reports.oversight_bias import bias_display, bias_section
from oversight.reports.oversight_design import design_section
from oversight.reports.oversight_display import display
from oversight.reports.oversight_format import day_text, person_text, when_text
from oversight.reports.oversight_incidents import incidents_section
from oversight.reports.oversight_shadow import shadow_section
from oversight.reports.oversight_stops import stops_section
from oversight.reports.rendering import ReportDocument, ReportParameterError, parse_day

TEMPLATE = "reports/oversight_report.html"
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


ROUTE_LABELS = {route: figure_label(f"route_{route}") for route in EFFORT_ROUTES}


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
        "owner": person_text(system.owner),
        "is_active": system.is_active,
        "rule_versions": [
            {
                "journey": v.journey.name,
                "point": v.name,
                "slug": v.slug,
                "version": v.version,
                "recorded_at": when_text(v.history_date),
                "in_force_from": when_text(max(v.history_date, period.start)),
            }
            for v in versions
        ],
        "briefings": [
            {
                "version": b.version,
                "published_on": day_text(b.published_on),
                "published_by": person_text(b.published_by),
            }
            for b in briefings
        ],
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
                "person": person_text(g.user),
                "level": g.level.name,
                "scope": g.journey.name if g.journey_id else f"{system.name} (every journey)",
                "granted_by": person_text(g.granted_by) or "initial set-up",
                "valid_from": when_text(g.valid_from),
                "valid_until": when_text(g.valid_until),
                "revoked_at": when_text(g.revoked_at),
                "revoked_by": person_text(g.revoked_by),
                "training_current": current,
                "training": label,
            }
        )
    return {
        "grants": rows,
        "grants_total": grants.total,
        "grants_more": grants.more,
        "training_as_of": when_text(last_moment),
        "without_authority_total": exceptions.total,
        "without_authority_more": exceptions.more,
        "without_authority": [
            {
                "decided_at": when_text(d.decided_at),
                "reviewer": person_text(d.reviewer),
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
                "decided_at": when_text(d.decided_at),
                "reviewer": person_text(d.reviewer),
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


def _integrity_section() -> dict:
    facts = queries.ledger_facts()
    verification = facts["verification"]
    return {
        "audit_events": facts["events"],
        "oldest_event": when_text(facts["oldest_event"]),
        "newest_event": when_text(facts["newest_event"]),
        "oldest_gate_evaluation": when_text(facts["oldest_gate_evaluation"]),
        "retention": [
            {"setting": name, "what": what, "days": retention_days(name)}
            for name, what in RETENTION_SETTINGS.items()
        ],
        "latest_verification": None
        if verification is None
        else {
            "verified_at": when_text(verification.verified_at),
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
    data["design"] = design_section(system, period)
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
    data["trends"] = trends.trend_section(system, period)
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
