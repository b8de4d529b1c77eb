"""Report parameters: what each kind of report takes, checked and normalised to JSON.

`validate_params` runs when a report is requested (`oversight.services.reports`), before
anything is recorded, so a refusal creates nothing. It checks only what is cheap; the renderer
checks the rest when it makes the report (ReportParameterError).
"""

import datetime
import uuid

from django.contrib.auth.models import Group
from django.utils import timezone

from oversight.exceptions import InvalidInput
from oversight.models import AISystem, Case, GoLiveSignOff, ReportKind

MAX_PERIOD_DAYS = 3653  # ten years, as the oversight report's builder allows


def _date(params: dict, key: str, label: str) -> datetime.date:
    value = params.get(key)
    if not value:
        raise InvalidInput(f"The {label} is required (YYYY-MM-DD).")
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"The {label} “{value}” is not a date (YYYY-MM-DD).") from None
    if day > timezone.localdate():
        raise InvalidInput(f"The {label} {day.isoformat()} is in the future.")
    return day


def _system(slug) -> str:
    if not AISystem.objects.filter(slug=slug).exists():
        raise InvalidInput(f"There is no AI system “{slug}”.")
    return slug


def _sign_off(value) -> str:
    if not value:
        raise InvalidInput("The go-live sign-off is required for a go-live evaluation.")
    try:
        sign_off_id = uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"“{value}” is not a go-live sign-off id (a UUID).") from None
    if not GoLiveSignOff.objects.filter(pk=sign_off_id).exists():
        raise InvalidInput(f"There is no go-live sign-off {sign_off_id}.")
    return str(sign_off_id)


def _check_keys(kind: str, params: dict, allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInput(
            f"Unknown parameter{'s' if len(unknown) > 1 else ''} for a "
            f"{ReportKind(kind).label.lower()}: {', '.join(unknown)}."
        )


def validate_params(kind: str, params: dict | None) -> dict:
    """The parameters of `kind` checked cheaply and normalised to JSON (ISO dates, slugs).

    Rules: the kind is known; no unknown keys; dates are ISO and not in the future; a period
    starts before it ends and spans at most MAX_PERIOD_DAYS; the AI system, team or case named
    exists. The renderer checks the rest (ReportParameterError).
    """
    if kind not in ReportKind.values:
        raise InvalidInput(
            f"Unknown report type “{kind}”; choose one of {', '.join(ReportKind.values)}."
        )
    params = dict(params or {})
    if kind == ReportKind.OVERSIGHT:
        _check_keys(kind, params, {"system", "start", "end"})
        if not params.get("system"):
            raise InvalidInput("Choose the AI system the oversight report is about.")
        start = _date(params, "start", "start of the period")
        end = _date(params, "end", "end of the period")
        if end < start:
            raise InvalidInput(
                f"The period ends ({end.isoformat()}) before it starts ({start.isoformat()})."
            )
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidInput("The period is longer than ten years: check the dates.")
        return {
            "system": _system(params["system"]),
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
    if kind == ReportKind.AUTHORITY:
        _check_keys(kind, params, {"as_of"})
        return {"as_of": _date(params, "as_of", "as-of date").isoformat()}
    if kind == ReportKind.LITERACY:
        _check_keys(kind, params, {"as_of", "system", "team"})
        as_of = _date(params, "as_of", "as-of date")
        system = params.get("system") or None
        team = params.get("team") or None
        if system is not None:
            _system(system)
        if team is not None and not Group.objects.filter(name=team).exists():
            raise InvalidInput(f"There is no team “{team}”.")
        return {"as_of": as_of.isoformat(), "system": system, "team": team}
    if kind == ReportKind.INCIDENT:
        _check_keys(kind, params, {"incident", "stage"})
        return _incident_params(params)
    if kind == ReportKind.GO_LIVE:
        _check_keys(kind, params, {"sign_off"})
        return {"sign_off": _sign_off(params.get("sign_off"))}
    # ReportKind.DOSSIER
    _check_keys(kind, params, {"case"})
    value = params.get("case")
    if not value:
        raise InvalidInput("The case id is required for a case dossier.")
    try:
        case_id = uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"“{value}” is not a case id (a UUID).") from None
    if not Case.objects.filter(pk=case_id).exists():
        raise InvalidInput(f"There is no case {case_id}.")
    return {"case": str(case_id)}


def _incident_params(params: dict) -> dict:
    from oversight.reports.incident_report import load_incident
    from oversight.reports.rendering import ReportParameterError

    try:
        incident, stage = load_incident(params)
    except ReportParameterError as error:
        raise InvalidInput(str(error)) from None
    return {"incident": incident.pk, "stage": stage}
