"""The state changes of a serious incident, each one service (DESIGN.md invariant 6).

Who: compliance officers on every AI system, managers on the AI systems they manage, and
superusers; each needs `oversight.change_incident`. Every change is one transaction that keeps
a history version (with the person and the moment) and appends an audit ledger event.

States move forward only (`NEXT_STATES`). Two steps skip or end early and so need a note that
documents why: telling the authority without having reached the provider (Art. 26(5): the
deployer who cannot reach the provider reports under Art. 73 itself), and closing a suspected
incident that turned out not to be serious. A suggestion by the product becomes an incident
only when a person confirms it (then "suspected", and the clock starts), or is dismissed with
a note.
"""

import datetime
import zoneinfo

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import (
    AISystem,
    Case,
    Decision,
    GuardrailEvaluation,
    Incident,
    IncidentClass,
    IncidentSource,
    IncidentState,
    Outcome,
)
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.authority import ai_systems_managed_by, manages_scope
from oversight.services.incidents.deadlines import reporting_deadline

S = IncidentState
# From each state, the states a person may move it to, and whether that step needs a note.
NEXT_STATES: dict[str, dict[str, bool]] = {
    S.SUGGESTED: {S.SUSPECTED: False, S.DISMISSED: True},
    S.SUSPECTED: {S.CONFIRMED: False, S.CLOSED: True},
    S.CONFIRMED: {S.REPORTED_TO_PROVIDER: False, S.REPORTED_TO_AUTHORITY: True},
    S.REPORTED_TO_PROVIDER: {S.REPORTED_TO_AUTHORITY: False},
    S.REPORTED_TO_AUTHORITY: {S.CLOSED: False},
    S.DISMISSED: {},
    S.CLOSED: {},
}
TEXT_LIMIT = 10_000
SOURCE_NOUNS = {
    IncidentSource.CASE: "case",
    IncidentSource.DECISION: "decision",
    IncidentSource.OUTCOME: "outcome",
    IncidentSource.GUARDRAIL: "guardrail breach",
}


def may_handle_incidents(user, ai_system: AISystem) -> bool:
    """Whether `user` may raise or move incidents of `ai_system`."""
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not user.has_perm("oversight.change_incident"):
        return False
    if user.groups.filter(name=COMPLIANCE_OFFICER).exists():
        return True
    return manages_scope(user, ai_system=ai_system)


def ai_systems_handled_by(user):
    """The AI systems whose incidents `user` may raise and move (two queries at most)."""
    if user is None or not user.is_active:
        return AISystem.objects.none()
    if user.is_superuser or (
        user.has_perm("oversight.change_incident")
        and user.groups.filter(name=COMPLIANCE_OFFICER).exists()
    ):
        return AISystem.objects.all()
    if not user.has_perm("oversight.change_incident"):
        return AISystem.objects.none()
    return ai_systems_managed_by(user)


def _check(user, ai_system: AISystem) -> None:
    if not may_handle_incidents(user, ai_system):
        raise NotAllowed(
            f"Only a compliance officer or a manager of {ai_system} may handle its incidents."
        )


def _text(value, label: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label} is required.")
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(f"{label} is longer than {TEXT_LIMIT} characters.")
    return text


def _moment(value, label: str, now: datetime.datetime) -> datetime.datetime:
    if value is None:
        return now
    if timezone.is_naive(value):
        raise InvalidInput(f"{label} must carry its time zone.")
    if value > now:
        raise InvalidInput(f"{label} is in the future.")
    return value


def _zone(value: str | None) -> str:
    from oversight.models.incidents import _default_time_zone

    zone = (value or "").strip() or _default_time_zone()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"“{zone}” is not a time zone name (e.g. Europe/Berlin).") from None
    return zone


def _class(value: str) -> str:
    if value not in IncidentClass.values:
        raise InvalidInput(
            f"Unknown incident class “{value}”; choose one of {', '.join(IncidentClass.values)}."
        )
    return value


def _source_objects(*, ai_system, source, case, decision, outcome, guardrail_evaluation):
    """The source record checked against the AI system, and the case it brings along."""
    given = {
        IncidentSource.CASE: case,
        IncidentSource.DECISION: decision,
        IncidentSource.OUTCOME: outcome,
        IncidentSource.GUARDRAIL: guardrail_evaluation,
    }
    if source not in given:
        raise InvalidInput(
            "Raise an incident from a case, a decision, an outcome or a guardrail breach."
        )
    record = given[source]
    if record is None:
        raise InvalidInput(f"Name the {SOURCE_NOUNS[source]} it arose from.")
    if any(other is not None for kind, other in given.items() if kind != source):
        raise InvalidInput("Name one source only.")
    if source == IncidentSource.CASE:
        system_id, brought = record.journey.ai_system_id, record
    elif source == IncidentSource.DECISION:
        system_id, brought = record.case.journey.ai_system_id, record.case
    elif source == IncidentSource.OUTCOME:
        brought = record.case or getattr(record.evaluation, "case", None)
        system_id = (
            record.case.journey.ai_system_id if record.case else record.evaluation.ai_system_id
        )
    else:
        if not record.breached:
            raise InvalidInput("That guardrail evaluation was not a breach.")
        system_id, brought = record.guardrail.journey.ai_system_id, None
    if system_id != ai_system.pk:
        raise InvalidInput(f"That {SOURCE_NOUNS[source]} is not of {ai_system}.")
    return brought


def raise_incident(
    *,
    by,
    ai_system: AISystem,
    title: str,
    what_happened: str,
    affected: str,
    incident_class: str,
    source: str,
    became_aware_at: datetime.datetime | None = None,
    time_zone: str | None = None,
    case: Case | None = None,
    decision: Decision | None = None,
    outcome: Outcome | None = None,
    guardrail_evaluation: GuardrailEvaluation | None = None,
    related_cases=(),
    at: datetime.datetime | None = None,
) -> Incident:
    """A person raises a (suspected) serious incident; the reporting clock starts.

    Rules: a compliance officer or a manager of the AI system; title, what happened and who
    was affected are required; the class is known; exactly one source (case, decision, outcome,
    guardrail breach) of this AI system; related cases are of this AI system; awareness is not
    in the future (default now). The source's case joins the related cases. `at` dates the
    raising and its history row (default now), for a register kept after the fact.
    """
    _check(by, ai_system)
    now = _moment(at, "The moment of raising", timezone.now())
    title = _text(title, "The title")[:200]
    what_happened = _text(what_happened, "What happened")
    affected = _text(affected, "Who was affected")
    incident_class = _class(incident_class)
    zone = _zone(time_zone)
    aware = _moment(became_aware_at, "The moment of awareness", now)
    brought = _source_objects(
        ai_system=ai_system,
        source=source,
        case=case,
        decision=decision,
        outcome=outcome,
        guardrail_evaluation=guardrail_evaluation,
    )
    cases = list(related_cases) + ([brought] if brought is not None else [])
    foreign = [c for c in cases if c.journey.ai_system_id != ai_system.pk]
    if foreign:
        raise InvalidInput(f"Case {str(foreign[0].pk)[:8]} is not of {ai_system}.")
    deadline = reporting_deadline(
        became_aware_at=aware, incident_class=incident_class, time_zone=zone
    )
    with transaction.atomic():
        incident = Incident(
            title=title,
            what_happened=what_happened,
            affected=affected,
            ai_system=ai_system,
            source=source,
            source_case=case,
            source_decision=decision,
            source_outcome=outcome,
            source_guardrail_evaluation=guardrail_evaluation,
            incident_class=incident_class,
            state=IncidentState.SUSPECTED,
            became_aware_at=aware,
            time_zone=zone,
            deadline=deadline,
            raised_by=by,
            raised_at=now,
        )
        incident._history_user = by
        incident._history_date = now
        incident.save()
        if cases:
            incident.related_cases.add(*cases)
        append_event(
            actor=Actor.for_user(by),
            action="incident.raised",
            obj=incident,
            payload={
                "ai_system": ai_system.slug,
                "class": incident_class,
                "source": source,
                "became_aware_at": aware,
                "time_zone": zone,
                "deadline": deadline,
                "related_cases": sorted(str(c.pk) for c in cases),
            },
        )
    return incident


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("ai_system").get(pk=incident.pk)


def advance_incident(
    *,
    incident: Incident,
    by,
    to_state: str,
    note: str = "",
    at: datetime.datetime | None = None,
    authority_reference: str = "",
    incident_class: str | None = None,
    became_aware_at: datetime.datetime | None = None,
) -> Incident:
    """Move an incident (or a suggestion) one step forward, as `NEXT_STATES` allows.

    Rules: a compliance officer or a manager of its AI system; the step is allowed from the
    state the incident is in now (read under a row lock, so two people cannot both move it);
    a documented step needs a note; `at` (default now, not in the future, not before
    awareness) dates the report to the provider or the authority; the authority report needs
    its reference. Confirming a suggestion starts the clock at `became_aware_at` (default `at`)
    with `incident_class` (default the suggestion's). `at` also dates the history row and a
    closing.
    """
    _check(by, incident.ai_system)
    now = timezone.now()
    note = _text(note, "The note", required=False)
    authority_reference = _text(authority_reference, "The reference", required=False)[:200]
    when = _moment(at, "The date of this step", now)
    with transaction.atomic():
        incident = _lock(incident)
        allowed = NEXT_STATES[incident.state]
        if to_state not in allowed:
            raise StaleState(
                f"{incident} is {incident.get_state_display().lower()}: it cannot become "
                f"“{IncidentState(to_state).label.lower() if to_state in S.values else to_state}”"
                " now."
            )
        if allowed[to_state] and not note:
            raise InvalidInput("This step needs a note that documents why.")
        previous = incident.state
        payload: dict = {"from": previous, "to": to_state, "note": note}
        if previous == S.SUGGESTED and to_state == S.SUSPECTED:
            if incident_class is not None:
                incident.incident_class = _class(incident_class)
            aware = _moment(became_aware_at, "The moment of awareness", when)
            incident.became_aware_at = aware
            incident.deadline = reporting_deadline(
                became_aware_at=aware,
                incident_class=incident.incident_class,
                time_zone=incident.time_zone,
            )
            incident.raised_by = by
            payload.update(
                {
                    "class": incident.incident_class,
                    "became_aware_at": aware,
                    "deadline": incident.deadline,
                }
            )
        reporting = to_state in (S.REPORTED_TO_PROVIDER, S.REPORTED_TO_AUTHORITY)
        if reporting and incident.became_aware_at and when < incident.became_aware_at:
            raise InvalidInput("The report cannot be dated before the moment of awareness.")
        if to_state == S.REPORTED_TO_PROVIDER:
            incident.reported_to_provider_at = when
            payload["reported_at"] = when
        if to_state == S.REPORTED_TO_AUTHORITY:
            if not authority_reference:
                raise InvalidInput("The authority's reference for the report is required.")
            incident.reported_to_authority_at = when
            incident.authority_reference = authority_reference
            payload.update(
                {
                    "reported_at": when,
                    "reference": authority_reference,
                    "deadline": incident.deadline,
                    "deadline_met": when <= incident.deadline,
                }
            )
        if to_state in (S.CLOSED, S.DISMISSED):
            incident.closed_at = when
        incident.state = to_state
        incident.note = note
        incident._history_user = by
        incident._history_date = when
        incident.save()
        append_event(
            actor=Actor.for_user(by),
            action="incident.state_changed",
            obj=incident,
            payload=payload,
        )
    return incident


def move_deadline(*, incident: Incident, by, deadline: datetime.datetime, reason: str) -> Incident:
    """Move the reporting deadline of an open incident, with the reason recorded.

    Rules: a compliance officer or a manager of its AI system; a reason is required; the
    incident is open (suspected, confirmed, or reported to the provider only); the new
    deadline is aware and differs from the current one. The old and new deadlines and the
    reason go to history and the ledger; reminders start afresh for the new deadline.
    """
    _check(by, incident.ai_system)
    reason = _text(reason, "The reason for moving the deadline")
    if deadline is None or timezone.is_naive(deadline):
        raise InvalidInput("The new deadline must be a moment with its time zone.")
    with transaction.atomic():
        incident = _lock(incident)
        if not incident.is_open:
            raise StaleState(
                f"{incident} is {incident.get_state_display().lower()}: its deadline is final."
            )
        if deadline == incident.deadline:
            raise InvalidInput("The new deadline is the current one: nothing to move.")
        if deadline < incident.became_aware_at:
            raise InvalidInput("The deadline cannot come before the moment of awareness.")
        old = incident.deadline
        incident.deadline = deadline
        incident.deadline_reason = reason
        incident._history_user = by
        incident.save()
        append_event(
            actor=Actor.for_user(by),
            action="incident.deadline_moved",
            obj=incident,
            payload={"from": old, "to": deadline, "reason": reason},
        )
    return incident
