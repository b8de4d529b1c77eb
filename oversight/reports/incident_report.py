"""The serious-incident report (Art. 73): initial or final, one incident as evidence.

The initial report is what the organisation knew when it first told the provider or the
authority (Art. 73(5) allows an incomplete initial report followed by a complete one); the final
report is ordered once the authority has been told or the incident is closed. Both show the
incident as recorded, the reporting clock (awareness, class, deadline in the organisation's
zone, whether it was met), the timeline (every recorded version with who and when, and the
ledger events), the related cases' evidence (what the system did, the decisions and outcomes),
and the ledger head. Text people typed and data AI systems sent is printed escaped. Long parts
are bounded and the rest counted.
"""

import datetime
import zoneinfo

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import Case, Decision, Incident, IncidentState, Outcome
from oversight.reports.rendering import ReportDocument, ReportParameterError

STAGES = {"initial": "Initial report", "final": "Final report"}
FINAL_STATES = (IncidentState.REPORTED_TO_AUTHORITY, IncidentState.CLOSED)
CASE_LIMIT = 50
DECISION_LIMIT = 10  # per case
OUTCOME_LIMIT = 10  # per case
EVENT_LIMIT = 200
VERSION_LIMIT = 100


def _noop(percent: int, message: str) -> None:
    pass


def _iso(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(datetime.UTC).isoformat()


def load_incident(params: dict) -> tuple[Incident, str]:
    """The incident and stage named by `params`, or ReportParameterError."""
    if not isinstance(params, dict):
        raise ReportParameterError("Report parameters must be a mapping.")
    stage = params.get("stage") or "initial"
    if stage not in STAGES:
        raise ReportParameterError(f"The stage {str(stage)[:20]!r} is not initial or final.")
    value = params.get("incident")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ReportParameterError(f"{str(value)[:40]!r} is not an incident number.") from None
    incident = Incident.objects.select_related("ai_system", "raised_by").filter(pk=number).first()
    if incident is None or incident.state in (IncidentState.SUGGESTED, IncidentState.DISMISSED):
        raise ReportParameterError(f"There is no serious incident {number}.")
    if stage == "final" and incident.state not in FINAL_STATES:
        raise ReportParameterError(
            f"The final report of incident {number} waits until the authority has been told "
            "or the incident is closed."
        )
    return incident, stage


def _person(user) -> str:
    if user is None:
        return "the product"
    return user.get_full_name() or user.get_username()


def _versions(incident: Incident) -> tuple[list[dict], int]:
    rows = list(
        incident.history.select_related("history_user").order_by("history_date", "history_id")
    )
    shown = []
    previous = None
    for row in rows[:VERSION_LIMIT]:
        changes = []
        if previous is not None:
            for field in ("state", "incident_class", "deadline", "deadline_reason",
                          "reported_to_provider_at", "reported_to_authority_at",
                          "authority_reference", "note"):  # fmt: skip
                old, new = getattr(previous, field), getattr(row, field)
                if old != new and field != "note":
                    changes.append(field.replace("_", " "))
        shown.append(
            {
                "at": row.history_date,
                "by": _person(row.history_user),
                "state": IncidentState(row.state).label,
                "note": row.note if previous is None or row.note != previous.note else "",
                "changes": changes,
                "deadline": row.deadline,
            }
        )
        previous = row
    return shown, len(rows)


def _case_evidence(incident: Incident) -> tuple[list[dict], int]:
    cases = list(
        incident.related_cases.select_related("journey", "evaluation").order_by("opened_at")
    )
    ids = [case.pk for case in cases[:CASE_LIMIT]]
    decisions: dict = {}
    for decision in (
        Decision.objects.filter(case_id__in=ids)
        .select_related("reviewer", "authority_level")
        .order_by("decided_at")
    ):
        decisions.setdefault(decision.case_id, []).append(decision)
    outcomes: dict = {}
    for outcome in Outcome.objects.filter(case_id__in=ids).order_by("reported_at"):
        outcomes.setdefault(outcome.case_id, []).append(outcome)
    rows = []
    for case in cases[:CASE_LIMIT]:
        rows.append(
            {
                "case": case,
                "short_id": str(case.pk)[:8],
                "route": case.evaluation.get_route_display() if case.evaluation else "",
                "decisions": [
                    {
                        "at": d.decided_at,
                        "by": _person(d.reviewer),
                        "outcome": d.get_outcome_display(),
                        "override": d.is_override,
                        "level": d.authority_level.name,
                    }
                    for d in decisions.get(case.pk, [])[:DECISION_LIMIT]
                ],
                "outcomes": [
                    {
                        "at": o.reported_at,
                        "complaint": o.complaint,
                        "reversed": o.reversed,
                        "effort": o.customer_effort,
                    }
                    for o in outcomes.get(case.pk, [])[:OUTCOME_LIMIT]
                ],
            }
        )
    return rows, len(cases)


def _events(incident: Incident, case_ids: list) -> tuple[list[AuditEvent], int]:
    condition = Q(object_type="oversight.incident", object_id=str(incident.pk))
    if case_ids:
        condition |= Q(object_type="oversight.case", object_id__in=[str(pk) for pk in case_ids])
    events = AuditEvent.objects.filter(condition, sequence__isnull=False).order_by("sequence")
    return list(events[:EVENT_LIMIT]), events.count()


def build_incident_report(params: dict, *, progress=_noop) -> ReportDocument:
    """Collect one incident's report. params: {"incident": number, "stage": initial|final}."""
    incident, stage = load_incident(params)
    progress(20, "The incident and its timeline")
    zone = zoneinfo.ZoneInfo(incident.time_zone)
    versions, versions_total = _versions(incident)
    progress(35, "The related cases")
    cases, cases_total = _case_evidence(incident)
    events, events_total = _events(incident, [row["case"].pk for row in cases])
    local = {
        "became_aware_at": incident.became_aware_at.astimezone(zone),
        "deadline": incident.deadline.astimezone(zone),
    }
    data = {
        "report": "serious-incident",
        "stage": stage,
        "incident": incident.pk,
        "ai_system": incident.ai_system.slug,
        "state": incident.state,
        "class": incident.incident_class,
        "became_aware_at": _iso(incident.became_aware_at),
        "time_zone": incident.time_zone,
        "deadline": _iso(incident.deadline),
        "deadline_reason": incident.deadline_reason,
        "reported_to_provider_at": _iso(incident.reported_to_provider_at),
        "reported_to_authority_at": _iso(incident.reported_to_authority_at),
        "authority_reference": incident.authority_reference,
        "deadline_met": incident.deadline_met,
        "related_cases": sorted(str(row["case"].pk) for row in cases),
        "versions": versions_total,
        "ledger_events": [[e.sequence, e.hash] for e in events],
    }
    return ReportDocument(
        template="reports/incident_report.html",
        title=f"Serious incident report ({STAGES[stage].split()[0].lower()})",
        subtitle=f"Incident {incident.pk} · {incident.ai_system.name} · aware "
        f"{local['became_aware_at']:%Y-%m-%d}",
        context={
            "incident": incident,
            "stage": stage,
            "stage_label": STAGES[stage],
            "overdue": incident.is_overdue(timezone.now()),
            "versions": versions,
            "versions_omitted": versions_total - len(versions),
            "cases": cases,
            "cases_omitted": cases_total - len(cases),
            "events": events,
            "events_total": events_total,
            "events_omitted": events_total - len(events),
            "related_case_count": Case.objects.filter(incidents=incident).count(),
            "sign_off_role": "Compliance officer",
            "sign_off_statement": (
                "By signing, I confirm that I have reviewed this incident report, that it was "
                "generated by HITL Oversight from the incident register, the related cases and "
                "the audit ledger identified above, and that it is the account of the incident "
                "given to the provider or the market surveillance authority."
            ),
        },
        data=data,
        toc=[
            ("summary", "The incident"),
            ("clock", "The reporting clock"),
            ("timeline", "Timeline"),
            ("cases", "The related cases"),
            ("ledger", "Audit ledger events"),
            ("sign-off", "Sign-off"),
        ],
    )
