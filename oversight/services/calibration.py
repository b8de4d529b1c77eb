"""Threshold calibration: how often people change the AI's answer per confidence band, and
applying a new confidence threshold to a judgement point.

The evidence for a point is every decided case in the period that the point routed, plus the
decided sample audits of its journey (calls the gate let through and a person checked after
the fact): those are the only human judgements on confidences above the current threshold.
"Changed" means an override (live review) or a disagreement (sample audit).

A suggestion is only ever shown: `apply_threshold` is a manager's act with a note, never run by
a task or on viewing a page. Applying edits the condition's value and saves the point through
`save_judgement_point`, so the version goes up and history keeps who changed what.
"""

import math
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Floor

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.metrics import ConfidenceBand, Period, ratio, suggested_threshold
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    JudgementPoint,
    RouteReason,
    TriggerCondition,
)
from oversight.models.judgement import Operator
from oversight.services.authority import manages_scope
from oversight.services.configuration import save_judgement_point

CONFIDENCE_SIGNAL = "confidence"
THRESHOLD_OPERATORS = (Operator.LT, Operator.LTE)
BAND_WIDTH = 0.1
# A band with fewer judged cases says too little to count for or against a threshold.
MIN_BAND_CASES = 5


@dataclass(frozen=True)
class CalibrationBand(ConfidenceBand):
    """A confidence band of one point; `overridden` counts cases people changed either way."""

    overrides: int = 0
    disagreements: int = 0


def confidence_conditions():
    """Trigger conditions of the form "confidence is below / at most x", with point and journey."""
    return (
        TriggerCondition.objects.filter(signal=CONFIDENCE_SIGNAL, operator__in=THRESHOLD_OPERATORS)
        .select_related("judgement_point__journey__ai_system")
        .order_by("judgement_point__journey__name", "judgement_point__name", "position")
    )


def _in(period: Period, name: str) -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


def _band_counts(case_column: str, confidence_column: str) -> dict:
    case = OuterRef(case_column)
    return {
        "band": Floor(F(confidence_column) * round(1 / BAND_WIDTH)),
        "was_overridden": Exists(Decision.objects.filter(case=case, is_override=True)),
        "was_disputed": Exists(
            Decision.objects.filter(case=case, outcome=DecisionOutcome.DISAGREE)
        ),
    }


_AGGREGATES = {
    "cases": Count("pk"),
    "changed": Count("pk", filter=Q(was_overridden=True) | Q(was_disputed=True)),
    "override_count": Count("pk", filter=Q(was_overridden=True)),
    "disagreement_count": Count("pk", filter=Q(was_disputed=True)),
}


def bands_by_point(*, period: Period, points) -> dict:
    """{point pk: [CalibrationBand, ...]} for the given judgement points: two grouped queries.

    One groups the decided cases the points routed by point and band, the other the decided
    sample audits of their journeys by journey and band; each point gets its own cases plus
    its journey's sample audits. Confidence 1.0 falls in the top band; empty bands are left out.
    """
    points = list(points)
    if not points:
        return {}
    decided = {
        "status": CaseStatus.DECIDED,
        "confidence__isnull": False,
    }
    through = Case.judgement_points.through
    routed = (
        through.objects.filter(
            _in(period, "case__decided_at"),
            judgementpoint_id__in=[point.pk for point in points],
            **{f"case__{name}": value for name, value in decided.items()},
        )
        .annotate(**_band_counts("case_id", "case__confidence"))
        .order_by()
        .values("judgementpoint_id", "band")
        .annotate(**_AGGREGATES)
    )
    audits = (
        Case.objects.filter(
            _in(period, "decided_at"),
            route_reason=RouteReason.SAMPLE_AUDIT,
            journey_id__in={point.journey_id for point in points},
            **decided,
        )
        .annotate(**_band_counts("pk", "confidence"))
        .order_by()
        .values("journey_id", "band")
        .annotate(**_AGGREGATES)
    )
    top = round(1 / BAND_WIDTH) - 1
    by_point: dict = {}
    by_journey: dict = {}
    for rows, key, target in (
        (routed, "judgementpoint_id", by_point),
        (audits, "journey_id", by_journey),
    ):
        for row in rows:  # one row per (point or journey, band): never per case
            band = min(int(row["band"]), top)
            totals = target.setdefault(row[key], {}).setdefault(band, [0, 0, 0, 0])
            for index, name in enumerate(_AGGREGATES):
                totals[index] += row[name]
    result = {}
    for point in points:
        merged: dict[int, list[int]] = {}
        for source in (by_point.get(point.pk, {}), by_journey.get(point.journey_id, {})):
            for band, totals in source.items():
                merged[band] = [
                    a + b for a, b in zip(merged.get(band, [0, 0, 0, 0]), totals, strict=True)
                ]
        result[point.pk] = [
            CalibrationBand(
                low=round(band * BAND_WIDTH, 6),
                high=round((band + 1) * BAND_WIDTH, 6),
                cases=cases,
                overridden=changed,
                overrides=overrides,
                disagreements=disagreements,
            )
            for band, (cases, changed, overrides, disagreements) in sorted(merged.items())
        ]
    return result


def suggest(bands: list[CalibrationBand], *, target_rate: float) -> float | None:
    """The lowest threshold from which every band with enough cases stays within the target."""
    return suggested_threshold(bands, max_override_rate=target_rate, min_cases=MIN_BAND_CASES)


def expected_error(bands: list[CalibrationBand], threshold: float | None) -> float | None:
    """Share of judged cases at or above `threshold` that people changed: the error rate to
    expect from automating them (None without a threshold or cases)."""
    if threshold is None:
        return None
    above = [band for band in bands if band.low >= threshold - 1e-9]
    return ratio(sum(b.overridden for b in above), sum(b.cases for b in above))


def workload_saved(*, period: Period, thresholds: dict) -> dict:
    """{point pk: (routed, no longer routed)} for {condition: new threshold}: one query.

    Routed: cases a point opened by its trigger in the period. No longer routed: those of them
    whose confidence would pass the new threshold ("below x": at least x; "at most x": above
    x) and that no other judgement point routed. An estimate from above: another condition of
    an ANY trigger, missing context or personal data may still route some of them.
    """
    thresholds = {c: t for c, t in thresholds.items() if t is not None}
    if not thresholds:
        return {}
    through = Case.judgement_points.through
    passes = Q(pk__in=[])
    for condition, threshold in thresholds.items():
        lookup = "gte" if condition.operator == Operator.LT else "gt"
        passes |= Q(
            judgementpoint_id=condition.judgement_point_id,
            **{f"case__confidence__{lookup}": threshold},
        )
    others = through.objects.filter(case_id=OuterRef("case_id")).exclude(
        judgementpoint_id=OuterRef("judgementpoint_id")
    )
    rows = (
        through.objects.filter(
            _in(period, "case__opened_at"),
            case__route_reason=RouteReason.TRIGGER,
            judgementpoint_id__in={c.judgement_point_id for c in thresholds},
        )
        .annotate(alone=~Exists(others))
        .order_by()
        .values("judgementpoint_id")
        .annotate(routed=Count("pk"), saved=Count("pk", filter=Q(alone=True) & passes))
    )
    return {row["judgementpoint_id"]: (row["routed"], row["saved"]) for row in rows}


def _threshold_condition(condition_or_point) -> TriggerCondition:
    if isinstance(condition_or_point, JudgementPoint):
        conditions = list(confidence_conditions().filter(judgement_point=condition_or_point))
        if len(conditions) != 1:
            raise InvalidInput(
                f"{condition_or_point.name} has {len(conditions)} confidence threshold "
                "conditions: choose the condition to change."
            )
        return conditions[0]
    if not isinstance(condition_or_point, TriggerCondition):
        raise InvalidInput("Choose a judgement point or one of its trigger conditions.")
    return condition_or_point


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"The {name} must be a number.")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidInput(f"The {name} must be a number.")
    return value


def apply_threshold(
    *,
    user,
    condition_or_point,
    new_threshold: float,
    target_rate: float,
    note: str,
    period: Period | None = None,
    at=None,
) -> TriggerCondition:
    """Set a new confidence threshold on a judgement point: a new version of the point.

    Rules: the person holds `oversight.change_judgementpoint` and manages the point's journey
    (superusers pass both); the condition is "confidence is below / at most x" (a point with
    exactly one such condition may be given instead); 0 < threshold <= 1 and differs from the
    current one; 0 <= target rate < 1; a note is required. In one transaction the condition's
    value changes, the point is saved through `save_judgement_point` (version + 1, history with
    the user) and "judgement_point.threshold_applied" is appended with the old and new
    threshold, the target rate, the bands of `period` (default: the last 30 days) as evidence,
    and the note. Refused: nothing changes. `at` dates the history rows (default now), for
    the demo's story told in the past.
    """
    condition = _threshold_condition(condition_or_point)
    note = (note or "").strip()
    with transaction.atomic():
        condition = (
            TriggerCondition.objects.select_for_update()
            .select_related("judgement_point__journey__ai_system")
            .get(pk=condition.pk)
        )
        point = condition.judgement_point
        if not (
            user is not None
            and user.has_perm("oversight.change_judgementpoint")
            and manages_scope(user, journey=point.journey)
        ):
            raise NotAllowed(
                f"Only a manager of {point.journey} may change the thresholds of its points."
            )
        if condition.signal != CONFIDENCE_SIGNAL or condition.operator not in THRESHOLD_OPERATORS:
            raise InvalidInput(
                f"“{condition}” is not a confidence threshold: only “confidence is below / at "
                "most x” conditions can be calibrated."
            )
        new_threshold = _number(new_threshold, "threshold")
        target_rate = _number(target_rate, "target error rate")
        if not 0 < new_threshold <= 1:
            raise InvalidInput("The threshold must be above 0 and at most 1.")
        if not 0 <= target_rate < 1:
            raise InvalidInput("The target error rate must be at least 0 % and below 100 %.")
        if not note:
            raise InvalidInput("Say why the threshold changes: the note is required.")
        old_threshold = condition.value
        if old_threshold == new_threshold:
            raise InvalidInput(f"The threshold of {point.name} is already {new_threshold:g}.")
        period = period or Period.last_days(30)
        bands = bands_by_point(period=period, points=[point])[point.pk]

        condition.value = new_threshold
        condition._history_user = user
        if at is not None:
            condition._history_date = point._history_date = at
        condition.save(update_fields=["value"])
        point = save_judgement_point(point=point, changed_by=user)
        append_event(
            actor=Actor.for_user(user),
            action="judgement_point.threshold_applied",
            obj=point,
            payload={
                "judgement_point": point.slug,
                "journey": point.journey.slug,
                "ai_system": point.journey.ai_system.slug,
                "version": point.version,
                "condition": str(condition.pk),
                "operator": condition.operator,
                "old_threshold": old_threshold,
                "new_threshold": new_threshold,
                "target_rate": target_rate,
                "suggested": suggest(bands, target_rate=target_rate),
                "evidence": {
                    "period": [period.start, period.end],
                    "bands": [
                        {
                            "low": band.low,
                            "high": band.high,
                            "cases": band.cases,
                            "changed": band.overridden,
                            "overrides": band.overrides,
                            "disagreements": band.disagreements,
                        }
                        for band in bands
                    ],
                },
                "note": note,
            },
        )
    return condition
