"""Daily summaries of decided cases (DecidedCaseDay): calibration by confidence stays what the
cases say, summarised or not.

Each band's cases and overridden cases are recounted here with plain SQL over the cases and
decisions and compared with `calibration_by_confidence`, before and after the summaries exist,
across the boundary between summarised and live days, and after changes that land on a
summarised day.
"""

import datetime

import pytest
from django.db import connection

from oversight.metrics import Period, Scope, breakdown, calibration_by_confidence
from oversight.models import (
    CaseStatus,
    DecidedCaseDay,
    DecisionOutcome,
    GateRollup,
    StaleDecidedCaseDay,
)
from oversight.services.day_summaries import DECIDED_CASES, roll_up
from tests.factories import CaseFactory, DecisionFactory
from tests.oversight.test_day_summaries import MAY_CLOSED, PERIODS
from tests.oversight.test_metrics import MAY, Data, at

pytestmark = pytest.mark.django_db

# Per band: decided cases with a confidence, and of them those with an overriding decision;
# confidence 1.0 falls in the top band. Written from the definition, not from the ORM.
CALIBRATION_SQL = """
SELECT CASE WHEN FLOOR(c.confidence * 10) > 9 THEN 9 ELSE FLOOR(c.confidence * 10) END,
  COUNT(*),
  SUM(CASE WHEN EXISTS (SELECT 1 FROM oversight_decision d
                        WHERE d.case_id = c.id AND d.is_override) THEN 1 ELSE 0 END)
FROM oversight_case c JOIN oversight_journey j ON j.id = c.journey_id
WHERE c.status = 'decided' AND c.confidence IS NOT NULL
  AND c.decided_at >= %s AND c.decided_at < %s {scope}
GROUP BY 1
"""


def sql_bands(period: Period, *, ai_system=None) -> dict:
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(period.start), adapt(period.end)]
    scope = ""
    if ai_system is not None:
        scope = "AND j.ai_system_id = %s"
        params.append(ai_system.pk.hex if connection.vendor == "sqlite" else ai_system.pk)
    with connection.cursor() as cursor:
        cursor.execute(CALIBRATION_SQL.format(scope=scope), params)
        return {int(band): (int(cases), int(over)) for band, cases, over in cursor.fetchall()}


def shown(period: Period, scope: Scope | None = None) -> dict:
    return {
        round(band.low * 10): (band.cases, band.overridden)
        for band in calibration_by_confidence(period=period, scope=scope or Scope())
    }


class Confident(Data):
    """The metrics' month, plus decided cases across confidence bands (1.0 and none included),
    some overridden, some decided just before and after midnight UTC."""

    def __init__(self):
        super().__init__()
        level = self.c1.required_level
        plan = [
            # (journey, confidence, decided at, overridden)
            (self.j1, 0.05, at(10, 12), False),
            (self.j1, 0.3, at(10, 23, 59), True),
            (self.j1, 0.3, at(11, 0, 1), False),
            (self.j2, 0.7, at(11, 15), True),
            (self.j2, 0.7, at(12, 8), False),
            (self.j3, 0.99, at(12, 9), True),
            (self.j3, 1.0, at(13, 9), False),
            (self.j3, None, at(13, 10), True),
            (self.j1, 0.45, at(14, 23, 30), True),
        ]
        self.extra = []
        for journey, confidence, decided_at, overridden in plan:
            case = CaseFactory(
                journey=journey,
                required_level=level,
                confidence=confidence,
                opened_at=decided_at - datetime.timedelta(minutes=20),
                sla_deadline=decided_at + datetime.timedelta(hours=4),
                status=CaseStatus.DECIDED,
                decided_at=decided_at,
            )
            extra = {"override_reason": self.reason, "rationale": "Policy."} if overridden else {}
            DecisionFactory(
                case=case,
                reviewer=self.r1,
                outcome=DecisionOutcome.MODIFY if overridden else DecisionOutcome.APPROVE,
                is_override=overridden,
                decided_at=decided_at,
                authority_level=level,
                **extra,
            )
            self.extra.append(case)


@pytest.fixture
def data():
    return Confident()


@pytest.mark.parametrize("label", list(PERIODS))
def test_calibration_equals_plain_sql_before_and_after_the_summaries(data, label):
    period = PERIODS[label]
    expected = sql_bands(period)
    assert expected  # the period holds decided cases: the comparison says something
    assert shown(period) == expected
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    assert DecidedCaseDay.objects.exists()
    assert shown(period) == expected
    for system in (data.s1, data.s2):
        assert shown(period, Scope(ai_system=system)) == sql_bands(period, ai_system=system)


def test_summaries_hold_the_cases_of_whole_closed_days_and_the_rest_is_counted_live(data):
    # 13 May, 00:10: days up to the 12th summarised, the 13th and later still live.
    assert roll_up(DECIDED_CASES, now=at(13, 0, 10)) == 23  # 20 April to 12 May
    assert GateRollup.objects.get().decided_cases_until == datetime.date(2026, 5, 13)
    rows = DecidedCaseDay.objects.filter(day=datetime.date(2026, 5, 10))
    # 10 May: c1 (0.55), 0.05 and 0.3 (overridden, at 23:59) on j1.
    assert {(r.confidence_band, r.cases, r.overridden) for r in rows} == {
        (5, 1, 0),
        (0, 1, 0),
        (3, 1, 1),
    }
    assert shown(MAY) == sql_bands(MAY)
    # A band width the summaries do not hold counts every case: below 0.5 the four extra
    # cases; from 0.5 c1-c5 (0.55) and four extra cases (0.7, 0.7, 0.99, 1.0).
    halves = calibration_by_confidence(period=MAY, band_width=0.5)
    assert [(b.low, b.cases) for b in halves] == [(0.0, 4), (0.5, 9)]


def test_a_case_decided_on_a_summarised_day_and_changed_later_counts_at_once(data):
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    before = shown(MAY)
    case = data.extra[4]  # 0.7, decided on 12 May, not overridden
    case.status = CaseStatus.ESCALATED  # any later change of a decided case
    case.save()

    assert list(StaleDecidedCaseDay.objects.values_list("day", flat=True)) == [
        datetime.date(2026, 5, 12)
    ]
    expected = sql_bands(MAY)
    assert expected[7] == (before[7][0] - 1, before[7][1])
    assert shown(MAY) == expected  # the stale day is counted from the cases
    assert roll_up(DECIDED_CASES, now=MAY_CLOSED) == 1  # the 12th summarised again
    assert not StaleDecidedCaseDay.objects.exists()
    assert shown(MAY) == expected


def test_an_overriding_decision_on_a_summarised_day_s_case_counts_at_once(data):
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    case = data.extra[0]  # 0.05, decided on 10 May, not overridden
    DecisionFactory(
        case=case,
        reviewer=data.r2,
        outcome=DecisionOutcome.REJECT,
        is_override=True,
        override_reason=data.reason,
        rationale="Second look.",
        decided_at=at(20),
        review_round=2,
        authority_level=case.required_level,
    )
    assert StaleDecidedCaseDay.objects.filter(day=datetime.date(2026, 5, 10)).exists()
    expected = sql_bands(MAY)
    assert expected[0] == (1, 1)
    assert shown(MAY) == expected
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    assert shown(MAY) == expected


def test_rolling_up_starts_at_the_first_decided_case_and_again_adds_nothing(data):
    # An open case opened long before (no decided_at) does not move the start.
    CaseFactory(journey=data.j1, opened_at=at(1, month=3), status=CaseStatus.OPEN)
    assert roll_up(DECIDED_CASES, now=MAY_CLOSED) == 42  # 20 April to 31 May
    rows = set(DecidedCaseDay.objects.values_list("day", "journey", "confidence_band", "cases"))
    assert roll_up(DECIDED_CASES, now=MAY_CLOSED) == 0
    assert (
        set(DecidedCaseDay.objects.values_list("day", "journey", "confidence_band", "cases"))
        == rows
    )


def test_decided_cases_without_a_confidence_are_summarised_but_never_shown(data):
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    row = DecidedCaseDay.objects.get(day=datetime.date(2026, 5, 13), confidence_band=None)
    assert (row.cases, row.overridden) == (1, 1)
    assert sum(cases for cases, _ in shown(MAY).values()) == sum(
        cases for cases, _ in sql_bands(MAY).values()
    )


# The breakdown's case figures per journey and day: decided in the period (by the day decided),
# and SLA breached in the period (on the day the case was decided; none if it was not).
CASES_SQL = """
SELECT c.journey_id, {day},
  SUM(CASE WHEN c.status = 'decided' AND c.decided_at >= %s AND c.decided_at < %s
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.sla_breached_at >= %s AND c.sla_breached_at < %s THEN 1 ELSE 0 END)
FROM oversight_case c
WHERE (c.decided_at >= %s AND c.decided_at < %s)
   OR (c.sla_breached_at >= %s AND c.sla_breached_at < %s)
GROUP BY 1, 2
"""


def sql_case_figures(period: Period) -> dict:
    day = (
        "DATE(c.decided_at)"
        if connection.vendor == "sqlite"
        else "(c.decided_at AT TIME ZONE 'UTC')::date"
    )
    adapt = connection.ops.adapt_datetimefield_value
    bounds = [adapt(period.start), adapt(period.end)]
    with connection.cursor() as cursor:
        cursor.execute(CASES_SQL.format(day=day), bounds * 4)
        totals: dict = {}
        for journey, decided_on, decided, breached in cursor.fetchall():
            key = str(journey).replace("-", "")
            row = totals.setdefault(key, [0, 0])
            row[0] += int(decided)
            row[1] += int(breached)
            if decided_on is not None:
                day_row = totals.setdefault(str(decided_on), [0, 0])
                day_row[0] += int(decided)
                day_row[1] += int(breached)
        return {key: tuple(row) for key, row in totals.items() if any(row)}


def shown_case_figures(period: Period) -> dict:
    result = breakdown(period=period)
    shown = {
        journey.hex: (item.cases_decided, item.sla_breaches)
        for journey, item in result.journey.items()
    }
    shown.update(
        {str(day): (item.cases_decided, item.sla_breaches) for day, item in result.day.items()}
    )
    return {key: row for key, row in shown.items() if any(row)}


@pytest.mark.parametrize("label", list(PERIODS))
def test_the_breakdown_s_case_figures_equal_plain_sql_before_and_after_the_summaries(data, label):
    period = PERIODS[label]
    # A case breached in the period and decided after it, one breached and never decided.
    CaseFactory(
        journey=data.j2,
        opened_at=at(12, 1),
        sla_deadline=at(12, 2),
        sla_breached_at=at(12, 2),
        status=CaseStatus.DECIDED,
        decided_at=at(2, 10, month=6),
    )
    expected = sql_case_figures(period)
    assert any(decided for decided, _ in expected.values())
    assert any(breached for _, breached in expected.values())
    assert shown_case_figures(period) == expected
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    assert shown_case_figures(period) == expected
    data.extra[4].status = CaseStatus.ESCALATED  # decided on 12 May, changed after summarising
    data.extra[4].save()
    expected = sql_case_figures(period)
    assert shown_case_figures(period) == expected
    roll_up(DECIDED_CASES, now=MAY_CLOSED)
    assert shown_case_figures(period) == expected
