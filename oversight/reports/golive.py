"""The go-live evaluation: one go-live sign-off and the shadow-mode evidence it rested on.

Printed from the GoLiveSignOff row alone (the figures as measured at the moment of the sign-off,
never recomputed), so the report says what the manager saw when they signed: the target and the
minimum they set, the agreement with its 95 % Wilson interval, the table by confidence band and
by judgement point, the judgement point versions in force, and who signed, when, with what note.
"""

import uuid

from django.utils import timezone

from oversight.models import GoLiveSignOff
from oversight.reports.registers import person
from oversight.reports.rendering import ReportDocument, ReportParameterError

AGREEMENT_DEFINITION = (
    "Agreement: decided shadow cases whose final decision approved the AI's proposal unchanged, "
    "as a share of all decided shadow cases of the period. Modified or rejected proposals "
    "disagree; open, escalated or awaiting cases are not counted. Interval: 95 % Wilson score."
)


def _noop(percent: int, message: str) -> None:
    pass


def _percent(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def _row(item: dict) -> dict:
    return {
        "label": item["label"],
        "decided": item["decided"],
        "agreed": item["agreed"],
        "rate": _percent(item["rate"]),
        "interval": (
            f"{_percent(item['interval_low'])} – {_percent(item['interval_high'])}"
            if item.get("interval_low") is not None
            else "–"
        ),
    }


def sign_off_from(params: dict) -> GoLiveSignOff:
    value = params.get("sign_off")
    try:
        pk = uuid.UUID(str(value))
    except ValueError:
        raise ReportParameterError(f"{str(value)[:40]!r} is not a go-live sign-off id.") from None
    sign_off = (
        GoLiveSignOff.objects.select_related("journey__ai_system", "signed_off_by")
        .filter(pk=pk)
        .first()
    )
    if sign_off is None:
        raise ReportParameterError(f"There is no go-live sign-off {pk}.")
    return sign_off


def build_go_live(params: dict, *, progress=_noop) -> ReportDocument:
    """The go-live evaluation of one sign-off (params: {"sign_off": id})."""
    sign_off = sign_off_from(params)
    progress(20, "Reading the sign-off")
    journey = sign_off.journey
    figures = {
        "sign_off": str(sign_off.pk),
        "journey": str(journey.pk),
        "signed_off_by": sign_off.signed_off_by.get_username(),
        "signed_off_at": sign_off.signed_off_at,
        "target_agreement": str(sign_off.target_agreement),
        "min_decisions": sign_off.min_decisions,
        "shadow_since": sign_off.shadow_since,
        "decisions": sign_off.decisions,
        "agreed": sign_off.agreed,
        "agreement": sign_off.agreement,
        "interval": [sign_off.interval_low, sign_off.interval_high],
        "by_band": sign_off.by_band,
        "by_point": sign_off.by_point,
        "rule_versions": sign_off.rule_versions,
    }
    signed_at = timezone.localtime(sign_off.signed_off_at)
    return ReportDocument(
        template="reports/go_live_evaluation.html",
        title="Go-live evaluation",
        subtitle=f"{journey} · signed off {signed_at:%Y-%m-%d}",
        context={
            "sign_off": sign_off,
            "journey": journey,
            "ai_system": journey.ai_system,
            "signed_by": person(sign_off.signed_off_by),
            "agreement": _percent(sign_off.agreement),
            "interval": f"{_percent(sign_off.interval_low)} – {_percent(sign_off.interval_high)}",
            "target": _percent(sign_off.target_agreement),
            "disagreed": sign_off.decisions - sign_off.agreed,
            "by_band": [_row(item) for item in sign_off.by_band],
            "by_point": [_row(item) for item in sign_off.by_point],
            "rule_versions": sign_off.rule_versions,
            "definition": AGREEMENT_DEFINITION,
        },
        data=figures,
    )
