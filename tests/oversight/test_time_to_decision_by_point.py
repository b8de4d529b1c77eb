"""`time_to_decision_by_point`: every point's time to decision at once, held to
`time_to_decision` scoped to each point and to plain arithmetic on the rows."""

import datetime

import pytest
from django.db import connection

from oversight.metrics import (
    Distribution,
    Period,
    Scope,
    time_to_decision,
    time_to_decision_by_point,
)
from oversight.models import CaseStatus
from tests.factories import CaseFactory, JourneyFactory, JudgementPointFactory

pytestmark = pytest.mark.django_db

MAY = Period(
    start=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    end=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 5, day, hour, minute, tzinfo=datetime.UTC)


def case(journey, points, opened, decided, status=CaseStatus.DECIDED):
    made = CaseFactory(journey=journey, status=status, decided_at=decided)
    type(made).objects.filter(pk=made.pk).update(opened_at=opened)
    made.judgement_points.set(points)
    return made


@pytest.fixture
def points():
    journey, other = JourneyFactory(), JourneyFactory()
    p1 = JudgementPointFactory(journey=journey)
    p2 = JudgementPointFactory(journey=journey)
    idle = JudgementPointFactory(journey=journey)
    elsewhere = JudgementPointFactory(journey=other)
    # p1: 5 min, 10 min, 60 min (the last case fired p1 and p2), 2 h
    case(journey, [p1], at(3), at(3, 10, 5))
    case(journey, [p1], at(4), at(4, 10, 10))
    case(journey, [p1, p2], at(5), at(5, 11))
    case(journey, [p1], at(6), at(6, 12))
    # p2: also 30 min
    case(journey, [p2], at(7), at(7, 10, 30))
    # not counted: still open, decided before / after the period, no point
    case(journey, [p1, p2], at(8), None, status=CaseStatus.OPEN)
    case(
        journey,
        [p1],
        datetime.datetime(2026, 4, 29, tzinfo=datetime.UTC),
        at(1, 0, 0) - datetime.timedelta(seconds=1),
    )
    case(journey, [p2], at(31, 23), datetime.datetime(2026, 6, 1, 0, 30, tzinfo=datetime.UTC))
    case(journey, [], at(9), at(9, 13))
    case(other, [elsewhere], at(10), at(10, 10, 20))
    return p1, p2, idle, elsewhere


def test_each_point_equals_time_to_decision_scoped_to_it(points):
    result = time_to_decision_by_point(period=MAY, points=points)
    assert list(result) == [point.pk for point in points]
    for point in points:
        assert result[point.pk] == time_to_decision(period=MAY, scope=Scope(judgement_point=point))


def test_each_point_equals_plain_arithmetic(points):
    p1, p2, idle, elsewhere = points
    result = time_to_decision_by_point(period=MAY, points=points)
    # p1: 300, 600, 3600, 7200 s: median 2100; p90 at 2.7 -> 3600 + 0.7 x 3600
    assert result[p1.pk].count == 4
    assert result[p1.pk].median == pytest.approx(2100.0)
    assert result[p1.pk].p90 == pytest.approx(6120.0)
    # p2: 1800, 3600 s: median 2700; p90 at 0.9 -> 1800 + 0.9 x 1800
    assert result[p2.pk].count == 2
    assert result[p2.pk].median == pytest.approx(2700.0)
    assert result[p2.pk].p90 == pytest.approx(3420.0)
    assert result[idle.pk] == Distribution(0, None, None)
    assert result[elsewhere.pk] == Distribution(1, 1200.0, 1200.0)


def test_one_query_for_every_point_on_postgresql(points, django_assert_num_queries):
    # PostgreSQL: one GROUP BY query, after one giving its sort memory. SQLite: per point a
    # COUNT, then two OFFSET reads (median, p90) for each of the three points with decided cases.
    expected = 2 if connection.vendor == "postgresql" else 4 + 3 * 2
    with django_assert_num_queries(expected):
        time_to_decision_by_point(period=MAY, points=points)
