"""Daily summaries of decisions and outcomes: the figures stay what the rows say, summarised
or not.

Each decision and outcome figure is recomputed here with plain SQL over the rows and compared
with what the dashboard's functions return, before and after the summaries exist, across the
boundary between summarised and live days, and after changes that land on summarised days.
"""

import datetime
import uuid

import pytest
from django.db import connection

from oversight.metrics import Period, Scope, breakdown, customer_effort_by_route, figures_by
from oversight.models import (
    CaseStatus,
    DecisionDay,
    DecisionOutcome,
    DecisionStage,
    GateRollup,
    OutcomeDay,
    StaleDecisionDay,
    StaleOutcomeDay,
)
from oversight.services.day_summaries import roll_up_decision_days, roll_up_outcome_days
from oversight.services.rollups import GRACE
from tests.factories import CaseFactory, DecisionFactory, OutcomeFactory
from tests.oversight.test_metrics import MAY, Data, at

pytestmark = pytest.mark.django_db

JUNE_1 = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
MAY_CLOSED = JUNE_1 + GRACE
COUNTS = (
    "live_decisions",
    "cases_judged",
    "overrides",
    "escalations",
    "four_eyes_disagreements",
    "sample_audits",
    "audit_disagreements",
)
LIVE = "('approve', 'modify', 'reject', 'escalate')"
EARLIER = (
    "SELECT 1 FROM oversight_decision e WHERE e.case_id = d.case_id AND e.outcome IN {live}{extra}"
    " AND (e.review_round < d.review_round OR (e.review_round = d.review_round"
    " AND e.stage < d.stage))"
)
# Every decision figure per group, written out in SQL from the definitions (not from the ORM).
FIGURES_SQL = f"""
SELECT {{group}},
  SUM(CASE WHEN d.outcome IN {LIVE} THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.outcome IN {LIVE} AND NOT EXISTS ({EARLIER.format(live=LIVE, extra="")})
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.outcome IN {LIVE} AND d.is_override AND NOT EXISTS
      ({EARLIER.format(live=LIVE, extra=" AND e.is_override")}) THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.outcome = 'escalate' THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.stage = 'second' AND d.outcome IN {LIVE} AND d.outcome <> 'escalate'
      AND d.review_round < c.review_round THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.outcome IN ('agree', 'disagree') THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.outcome = 'disagree' THEN 1 ELSE 0 END)
FROM oversight_decision d JOIN oversight_case c ON c.id = d.case_id {{join}}
WHERE d.decided_at >= %s AND d.decided_at < %s
GROUP BY {{group}}
"""
GROUPINGS = {
    "journey": ("c.journey_id", ""),
    "judgement_point": (
        "p.judgementpoint_id",
        "JOIN oversight_case_judgement_points p ON p.case_id = c.id",
    ),
}


def sql_figures(grouping: str, period: Period) -> dict:
    group, join = GROUPINGS[grouping]
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            FIGURES_SQL.format(group=group, join=join), [adapt(period.start), adapt(period.end)]
        )
        return {
            uuid.UUID(str(row[0])): dict(zip(COUNTS, (int(v) for v in row[1:]), strict=True))
            for row in cursor.fetchall()
        }


def shown(grouping: str, period: Period) -> dict:
    """What the dashboard shows: breakdown per journey, figures_by per judgement point."""
    if grouping == "journey":
        result = breakdown(period=period).journey
    else:
        result = figures_by("judgement_point", period=period, only=("decision",))
    return {
        key: {name: getattr(item, name) for name in COUNTS}
        for key, item in result.items()
        if any(getattr(item, name) for name in COUNTS)
    }


def nonzero(table: dict) -> dict:
    return {key: row for key, row in table.items() if any(row.values())}


PERIODS = {
    "May": MAY,
    "from mid-day 11 May": Period(start=at(11, 10, 15), end=JUNE_1),
    "to mid-day 12 May": Period(start=MAY.start, end=at(12, 10, 30)),
    "10 to 13 May, mid-day": Period(start=at(10, 11), end=at(13, 11)),
    "30 days to now": Period(start=at(2, 0), end=at(13, 23)),
}


@pytest.fixture
def data():
    made = Data()
    # A four-eyes round: the second reviewer disagreed on 12 May, the case went up a level
    # the same day; a round-1 second review that a later escalation closes comes below.
    made.c8 = CaseFactory(
        journey=made.j1,
        opened_at=at(12, 9),
        sla_deadline=at(12, 13),
        status=CaseStatus.ESCALATED,
        review_round=2,
        four_eyes=True,
    )
    made.c8.judgement_points.set([made.p1, made.p2])
    for stage, reviewer, outcome in (
        (DecisionStage.FIRST, made.r1, DecisionOutcome.APPROVE),
        (DecisionStage.SECOND, made.r2, DecisionOutcome.REJECT),
    ):
        DecisionFactory(
            case=made.c8,
            reviewer=reviewer,
            outcome=outcome,
            stage=stage,
            decided_at=at(12, 9, 30),
            review_round=1,
            authority_level=made.c3.required_level,
        )
    return made


@pytest.mark.parametrize("grouping", list(GROUPINGS))
@pytest.mark.parametrize("label", list(PERIODS))
def test_every_decision_figure_equals_plain_sql_before_and_after_the_summaries(
    data, grouping, label
):
    period = PERIODS[label]
    expected = nonzero(sql_figures(grouping, period))
    assert expected  # the period holds decisions: the comparison says something
    assert shown(grouping, period) == expected
    roll_up_decision_days(now=MAY_CLOSED)
    assert DecisionDay.objects.exists()
    assert shown(grouping, period) == expected


def test_summaries_are_read_for_whole_closed_days_and_the_rest_live(data):
    # 13 May, 00:10: days up to the 12th summarised, the 13th and later still live.
    roll_up_decision_days(now=at(13, 0, 10))
    assert GateRollup.objects.get().decisions_until == datetime.date(2026, 5, 13)
    assert set(DecisionDay.objects.values_list("day", flat=True)) <= {
        datetime.date(2026, 4, 20),
        datetime.date(2026, 5, 10),
        datetime.date(2026, 5, 11),
        datetime.date(2026, 5, 12),
    }
    for grouping in GROUPINGS:
        assert shown(grouping, MAY) == nonzero(sql_figures(grouping, MAY))


def test_a_decision_written_on_a_summarised_day_counts_at_once_and_after_the_next_run(data):
    roll_up_decision_days(now=MAY_CLOSED)
    late = CaseFactory(
        journey=data.j1,
        opened_at=at(11, 9),
        sla_deadline=at(11, 13),
        status=CaseStatus.DECIDED,
        decided_at=at(11, 9, 30),
    )
    late.judgement_points.set([data.p2])
    DecisionFactory(
        case=late,
        reviewer=data.r2,
        outcome=DecisionOutcome.MODIFY,
        is_override=True,
        override_reason=data.reason,
        rationale="Policy.",
        decided_at=at(11, 9, 30),
        authority_level=data.c3.required_level,
    )
    assert list(StaleDecisionDay.objects.values_list("day", flat=True)) == [
        datetime.date(2026, 5, 11)
    ]
    for grouping in GROUPINGS:
        expected = nonzero(sql_figures(grouping, MAY))
        assert shown(grouping, MAY) == expected  # the stale day is counted from the rows
    assert roll_up_decision_days(now=MAY_CLOSED) == 1  # the 11th summarised again
    assert not StaleDecisionDay.objects.exists()
    for grouping in GROUPINGS:
        assert shown(grouping, MAY) == nonzero(sql_figures(grouping, MAY))


def test_a_case_escalated_after_its_day_was_summarised_changes_the_figures_at_once(data):
    case = CaseFactory(
        journey=data.j2,
        opened_at=at(14, 9),
        sla_deadline=at(14, 13),
        status=CaseStatus.AWAITING_SECOND_REVIEW,
        four_eyes=True,
    )
    DecisionFactory(
        case=case,
        reviewer=data.r2,
        outcome=DecisionOutcome.APPROVE,
        stage=DecisionStage.SECOND,
        decided_at=at(14, 9, 30),
        authority_level=data.c3.required_level,
    )
    roll_up_decision_days(now=MAY_CLOSED)
    before = breakdown(period=MAY).journey[data.j2.pk].four_eyes_disagreements

    # The round closes weeks after its day was summarised (any path that raises the round):
    # its second review now counts as a four-eyes disagreement.
    case.review_round = 2
    case.save()

    assert StaleDecisionDay.objects.filter(day=datetime.date(2026, 5, 14)).exists()
    expected = nonzero(sql_figures("journey", MAY))
    assert expected[data.j2.pk]["four_eyes_disagreements"] == before + 1
    assert shown("journey", MAY) == expected
    roll_up_decision_days(now=MAY_CLOSED)
    assert shown("journey", MAY) == expected


def test_scopes_of_a_system_read_summaries_and_stay_equal_to_counting_every_decision(data):
    live = {
        system: breakdown(period=MAY, scope=Scope(ai_system=system)).overall
        for system in (data.s1, data.s2)
    }
    roll_up_decision_days(now=MAY_CLOSED)
    for system, figures in live.items():
        assert breakdown(period=MAY, scope=Scope(ai_system=system)).overall == figures


def test_rolling_up_again_adds_nothing_and_summaries_start_at_the_first_decision(data):
    assert roll_up_decision_days(now=MAY_CLOSED) == 42  # 20 April to 31 May
    rows = set(DecisionDay.objects.values_list("day", "journey", "judgement_point"))
    assert roll_up_decision_days(now=MAY_CLOSED) == 0
    assert set(DecisionDay.objects.values_list("day", "journey", "judgement_point")) == rows


# --- outcomes ---------------------------------------------------------------------------------

OUTCOME_COUNTS = (
    "outcomes",
    "repeat_contact_answers",
    "repeat_contacts",
    "reversal_answers",
    "reversals",
)
OUTCOME_ROWS_SQL = """
SELECT COALESCE(c.journey_id, g.journey_id), o.customer_effort,
  o.repeat_contact, o.reversed,
  CASE
    WHEN c.route_reason = 'sample_audit' OR ec.route_reason = 'sample_audit' THEN 'automated'
    WHEN o.case_id IN (SELECT case_id FROM oversight_decision WHERE is_override)
      OR ec.id IN (SELECT case_id FROM oversight_decision WHERE is_override) THEN 'overridden'
    WHEN g.route = 'automate' THEN 'automated'
    WHEN c.status = 'decided' OR ec.status = 'decided' THEN 'human'
  END
FROM oversight_outcome o
LEFT JOIN oversight_case c ON c.id = o.case_id
LEFT JOIN oversight_gateevaluation g ON g.id = o.evaluation_id
LEFT JOIN oversight_case ec ON ec.evaluation_id = o.evaluation_id
WHERE o.reported_at >= %s AND o.reported_at < %s
"""


def sql_outcomes(period: Period) -> tuple[dict, dict]:
    """Outcome counts per journey, and the sorted efforts per route, from plain SQL."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(OUTCOME_ROWS_SQL, [adapt(period.start), adapt(period.end)])
        rows = cursor.fetchall()
    counts: dict = {}
    efforts: dict = {"automated": [], "human": [], "overridden": []}
    for journey, effort, repeat, reversed_, route in rows:
        row = counts.setdefault(uuid.UUID(str(journey)), dict.fromkeys(OUTCOME_COUNTS, 0))
        row["outcomes"] += 1
        row["repeat_contact_answers"] += repeat is not None
        row["repeat_contacts"] += bool(repeat)
        row["reversal_answers"] += reversed_ is not None
        row["reversals"] += bool(reversed_)
        if route is not None and effort is not None:
            efforts[route].append(effort)
    return counts, {route: sorted(values) for route, values in efforts.items()}


def percentile(values: list, fraction: float):
    """Continuous percentile (linear interpolation), written out."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (position - low) * (values[high] - values[low])


def shown_outcomes(period: Period) -> tuple[dict, dict]:
    journeys = {
        key: {name: getattr(item, name) for name in OUTCOME_COUNTS}
        for key, item in breakdown(period=period).journey.items()
        if item.outcomes
    }
    effort = {
        route: (item.count, item.median, item.p90)
        for route, item in customer_effort_by_route(period=period).items()
    }
    return journeys, effort


def expected_outcomes(period: Period) -> tuple[dict, dict]:
    counts, efforts = sql_outcomes(period)
    return counts, {
        route: (len(values), percentile(values, 0.5), percentile(values, 0.9))
        for route, values in efforts.items()
    }


OUTCOME_PERIODS = {
    "May": MAY,
    "from mid-day 20 May": Period(start=at(20, 12), end=JUNE_1),
    "to mid-day 20 May": Period(start=MAY.start, end=at(20, 12)),
    "April and May": Period(start=at(1, 0, month=4), end=JUNE_1),
}


@pytest.fixture
def outcomes(data):
    # More outcomes over several days, so the summaries hold more than one day and effort.
    for day, effort, case in ((18, 2, data.c1), (19, 6, data.c2), (20, 1, data.c4), (21, 5, None)):
        OutcomeFactory(
            customer_effort=effort,
            reported_at=at(day, 11),
            case=case,
            evaluation=None if case else data.auto1,
            repeat_contact=day % 2 == 0,
        )
    return data


@pytest.mark.parametrize("label", list(OUTCOME_PERIODS))
def test_outcome_figures_and_effort_equal_plain_sql_before_and_after_the_summaries(outcomes, label):
    period = OUTCOME_PERIODS[label]
    expected = expected_outcomes(period)
    assert expected[0]  # the period holds outcomes
    assert shown_outcomes(period) == expected
    roll_up_outcome_days(now=MAY_CLOSED)
    assert OutcomeDay.objects.exists()
    assert shown_outcomes(period) == expected


def test_an_outcome_answered_or_a_case_overridden_after_summarising_counts_at_once(outcomes):
    roll_up_outcome_days(now=MAY_CLOSED)
    roll_up_decision_days(now=MAY_CLOSED)
    answered = outcomes.c1.outcomes.get(reported_at=at(20))
    answered.reversed = True  # the customer's answer arrives weeks later
    answered.save()
    # The first case is overridden on a second review weeks later: its outcomes' route changes.
    DecisionFactory(
        case=outcomes.c1,
        reviewer=outcomes.r2,
        outcome=DecisionOutcome.MODIFY,
        is_override=True,
        override_reason=outcomes.reason,
        rationale="Policy.",
        stage=DecisionStage.SECOND,
        decided_at=at(10, 10, 20),
        authority_level=outcomes.c3.required_level,
    )
    marked = set(StaleOutcomeDay.objects.values_list("day", flat=True))
    assert {datetime.date(2026, 5, 18), datetime.date(2026, 5, 20)} <= marked
    expected = expected_outcomes(MAY)
    assert shown_outcomes(MAY) == expected
    assert roll_up_outcome_days(now=MAY_CLOSED) >= 2
    assert not StaleOutcomeDay.objects.exists()
    assert shown_outcomes(MAY) == expected


def test_a_case_decided_after_its_outcome_was_summarised_counts_as_decided_by_a_person(data):
    OutcomeFactory(customer_effort=7, reported_at=at(15, 16), case=data.c6)  # c6 still open
    roll_up_outcome_days(now=MAY_CLOSED)
    before = customer_effort_by_route(period=MAY)["human"].count
    data.c6.status = CaseStatus.DECIDED
    data.c6.decided_at = at(16, 9)
    data.c6.save()
    assert customer_effort_by_route(period=MAY)["human"].count == before + 1
    assert shown_outcomes(MAY) == expected_outcomes(MAY)
