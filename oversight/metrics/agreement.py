"""Shadow-mode agreement: how often people's final decision approved what the AI proposed.

While a journey is in shadow every gate call becomes a case (route reason "shadow") and a person
decides it for real; the AI's proposal is kept on the case. A shadow case *agrees* when its
final decision approves the proposal unchanged, and *disagrees* when the final decision modifies
or rejects it. The final decision is the case's latest decision (by review round, then time):
an escalation never closes a case, and a four-eyes case closes on a second review that confirmed
the first. Only decided shadow cases count; open, escalated or awaiting ones are not judged yet.

Agreement = agreed / decided, with a 95 % Wilson score interval (honest for small counts and
for rates near 0 or 1, where the normal approximation is not). Figures come overall, per
confidence band of the AI (0.1 wide, plus "no confidence sent") and per judgement point that
fired (plus "no judgement point fired": the calls that would have proceeded automatically once
live). Each breakdown is one grouped query; Python walks grouped rows, never cases.
"""

import math
from dataclasses import asdict, dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Floor

from oversight.models import Case, CaseStatus, Decision, DecisionOutcome, Journey, RouteReason

Z_95 = 1.959963984540054
BAND_WIDTH = 0.1
NO_CONFIDENCE = "no confidence sent"
NO_POINT = "No judgement point fired"


def wilson_interval(agreed: int, total: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of agreed/total (None when total is 0)."""
    if total <= 0:
        return None
    p = agreed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # At 0 or total agreements the bound is exactly 0 or 1; rounding must not move it.
    low = 0.0 if agreed == 0 else max(0.0, centre - half)
    high = 1.0 if agreed == total else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Agreement:
    """Agreement of one group of decided shadow cases."""

    label: str
    decided: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.agreed, self.decided)

    def as_dict(self) -> dict:
        interval = self.interval
        return {
            **asdict(self),
            "rate": self.rate,
            "interval_low": interval[0] if interval else None,
            "interval_high": interval[1] if interval else None,
        }


@dataclass(frozen=True)
class AgreementReport:
    """A journey's agreement over its shadow decisions since `since` (None: all of them)."""

    journey: Journey
    since: object
    overall: Agreement
    by_band: list[Agreement]
    by_point: list[Agreement]


def shadow_cases(journey: Journey, *, since=None):
    """The decided shadow cases of the journey (opened at or after `since`), each annotated
    with `final_outcome`: the outcome of its latest decision."""
    latest = Decision.objects.filter(case=OuterRef("pk")).order_by(
        "-review_round", "-decided_at", "-pk"
    )
    cases = Case.objects.filter(
        journey=journey, route_reason=RouteReason.SHADOW, status=CaseStatus.DECIDED
    )
    if since is not None:
        cases = cases.filter(opened_at__gte=since)
    return cases.annotate(final_outcome=Subquery(latest.values("outcome")[:1]))


_AGREED = Q(final_outcome=DecisionOutcome.APPROVE)


def _band_label(index: int | None) -> str:
    if index is None:
        return NO_CONFIDENCE
    low = index * BAND_WIDTH
    return f"{low:.1f}–{low + BAND_WIDTH:.1f}"


def agreement_for(journey: Journey, *, since=None) -> AgreementReport:
    """The journey's shadow agreement overall, per confidence band and per judgement point.

    Three grouped queries. `since` defaults to the journey's `shadow_since` (the start of its
    current shadow period); pass it explicitly to measure another window.
    """
    since = journey.shadow_since if since is None else since
    cases = shadow_cases(journey, since=since)
    total = cases.aggregate(decided=Count("pk"), agreed=Count("pk", filter=_AGREED))
    overall = Agreement("All shadow decisions", total["decided"], total["agreed"])

    top = round(1 / BAND_WIDTH) - 1
    merged: dict = {}
    rows = (
        cases.annotate(band=Floor(F("confidence") * round(1 / BAND_WIDTH)))
        .order_by()
        .values("band")
        .annotate(decided=Count("pk"), agreed=Count("pk", filter=_AGREED))
    )
    for row in rows:  # one row per band; confidence 1.0 joins the top band
        index = None if row["band"] is None else min(int(row["band"]), top)
        totals = merged.setdefault(index, [0, 0])
        totals[0] += row["decided"]
        totals[1] += row["agreed"]
    ordered = sorted(merged, key=lambda index: (index is None, index or 0))
    by_band = [Agreement(_band_label(i), merged[i][0], merged[i][1]) for i in ordered]

    point_rows = (
        cases.annotate(point=F("judgement_points__id"), point_name=F("judgement_points__name"))
        .order_by()
        .values("point", "point_name")
        .annotate(decided=Count("pk"), agreed=Count("pk", filter=_AGREED))
    )
    by_point = sorted(
        (
            Agreement(row["point_name"] or NO_POINT, row["decided"], row["agreed"])
            for row in point_rows
        ),
        key=lambda item: (item.label == NO_POINT, item.label),
    )
    return AgreementReport(
        journey=journey, since=since, overall=overall, by_band=by_band, by_point=by_point
    )


def agreement_by_journey(*, ai_system, start, end) -> list[Agreement]:
    """Agreement of the shadow cases of `ai_system` decided in [start, end), per journey (one
    grouped query; journeys without a decided shadow case are left out)."""
    latest = Decision.objects.filter(case=OuterRef("pk")).order_by(
        "-review_round", "-decided_at", "-pk"
    )
    rows = (
        Case.objects.filter(
            journey__ai_system=ai_system,
            route_reason=RouteReason.SHADOW,
            status=CaseStatus.DECIDED,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .annotate(final_outcome=Subquery(latest.values("outcome")[:1]))
        .order_by()
        .values("journey__name")
        .annotate(decided=Count("pk"), agreed=Count("pk", filter=_AGREED))
    )
    return sorted(
        (Agreement(row["journey__name"], row["decided"], row["agreed"]) for row in rows),
        key=lambda item: item.label,
    )
