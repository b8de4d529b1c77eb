"""Threshold calibration: override rate per AI confidence band, and the lowest confidence from
which people stay within a target override rate."""

from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import Floor

from oversight.metrics.figures import Period, Scope, _in, _scope_q, ratio
from oversight.metrics.summarised import summarised, summed
from oversight.models import Case, CaseStatus, Decision

# --- threshold calibration -------------------------------------------------------------------

# What calibration counts, here and in the daily summaries (DecidedCaseDay): a band is
# floor(confidence x bands); a case is overridden when one of its decisions is an override.
CONFIDENCE_BANDS = 10


def confidence_band(bands: int = CONFIDENCE_BANDS):
    return Floor(F("confidence") * bands)


def overridden_case() -> Q:
    """A hashed IN over the overriding decisions, not an EXISTS probe per case (0.44 -> 0.07 s
    for 90,000 decided cases)."""
    return Q(pk__in=Decision.objects.filter(is_override=True).values("case_id"))


@dataclass(frozen=True)
class ConfidenceBand:
    """Decided cases whose AI confidence fell in [low, high), and how often people overrode."""

    low: float
    high: float
    cases: int
    overridden: int

    @property
    def override_rate(self) -> float | None:
        return ratio(self.overridden, self.cases)


def calibration_by_confidence(
    *, period: Period, scope: Scope = Scope(), band_width: float = 0.1
) -> list[ConfidenceBand]:
    """Override rate of decided cases per confidence band.

    The question it answers: above which confidence do people (nearly) never change what the
    AI proposed? Bands without cases are left out; confidence 1.0 falls in the top band.

    With the summaries' band width (0.1), whole summarised days are read from DecidedCaseDay
    and only the rest (partial first and last days, days not summarised yet or marked stale)
    from the cases: one GROUP BY query each. Other widths count every case.
    """
    bands = round(1 / band_width)
    cases = Case.objects.filter(
        _in(period, "decided_at"),
        _scope_q(scope, "case"),
        status=CaseStatus.DECIDED,
        confidence__isnull=False,
    )
    days = None
    if bands == CONFIDENCE_BANDS:
        cases, days = summarised("case", cases, period, scope)
    rows = list(
        cases.annotate(band=confidence_band(bands))
        .order_by()
        .values("band")
        .annotate(cases=Count("pk"), overridden=Count("pk", filter=overridden_case()))
    )
    if days is not None:
        rows += summed(
            "case", days.filter(confidence_band__isnull=False), band=F("confidence_band")
        )
    merged: dict[int, list[int]] = {}
    for row in rows:  # at most bands + 1 rows from each query: one per band
        index = min(int(row["band"]), bands - 1)
        totals = merged.setdefault(index, [0, 0])
        totals[0] += row["cases"]
        totals[1] += row["overridden"]
    return [
        ConfidenceBand(
            low=round(index / bands, 6),
            high=round((index + 1) / bands, 6),
            cases=cases,
            overridden=overridden,
        )
        for index, (cases, overridden) in sorted(merged.items())
    ]


def suggested_threshold(
    bands: list[ConfidenceBand], *, max_override_rate: float, min_cases: int = 1
) -> float | None:
    """The lowest confidence from which every band with enough cases stays within the rate.

    A confidence trigger "below x" set to this value would send to people every band where
    they changed the AI's proposal more often than `max_override_rate`. None: no band is good.
    """
    judged = [band for band in bands if band.cases >= min_cases]
    suggestion = None
    for band in reversed(judged):
        if band.override_rate > max_override_rate:
            break
        suggestion = band.low
    return suggestion
