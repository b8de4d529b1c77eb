"""The report's trend held to plain SQL on the raw rows, per day and per week: in UTC with the
daily summaries rolled up over part of the period (one day marked stale), so whole days come
from GateDay / DecisionDay and the rest live, and in a zone whose days are not UTC days, where
every row is counted live."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from oversight.metrics import Period
from oversight.models import AISystem, GateDay
from oversight.reports.oversight_trend import bucket_size, buckets, local_days_are_utc_days, trend
from oversight.services.day_summaries import DECISIONS, mark_day_stale, roll_up_decision_days
from oversight.services.rollups import roll_up_gate_days
from tests.oversight.reports.test_oversight_figures_sql import World, at, sql_decisions, sql_gate

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def local_period(tz) -> Period:
    start = datetime.datetime(2026, 5, 1, tzinfo=tz)
    return Period(start=start, end=datetime.datetime(2026, 6, 1, tzinfo=tz))


def expected(period: Period, size: str, tz) -> dict:
    """Per bucket, plain SQL over the raw rows between the bucket's local bounds."""
    result = {}
    for first in buckets(period, size):
        last = first + datetime.timedelta(days=1 if size == "day" else 7)
        lower = max(datetime.datetime.combine(first, datetime.time(), tzinfo=tz), period.start)
        upper = min(datetime.datetime.combine(last, datetime.time(), tzinfo=tz), period.end)
        gate = sql_gate(lower.astimezone(datetime.UTC), upper.astimezone(datetime.UTC))
        decided = sql_decisions(lower.astimezone(datetime.UTC), upper.astimezone(datetime.UTC))
        result[first] = (
            gate["gate_calls"],
            gate["routed_to_humans"],
            gate["blocked"],
            decided["live_decisions"],
            decided["cases_judged"],
            decided["overrides"],
        )
    return result


def shown(counts: dict, days: list) -> dict:
    names = ("gate_calls", "routed", "blocked", "live_decisions", "cases_judged", "overrides")
    return {day: tuple(counts.get(day, {}).get(name, 0) for name in names) for day in days}


@pytest.fixture
def world():
    made = World()
    # Summaries up to 2026-05-20 (closed days before it); the rest of May stays live.
    roll_up_gate_days(now=at(20, 12))
    roll_up_decision_days(now=at(20, 12))
    mark_day_stale(DECISIONS, at(12, 10))  # a stale day is counted from the rows
    return made


@pytest.mark.parametrize("size", ["day", "week"])
def test_trend_with_summaries_in_utc_equals_plain_sql(world, size):
    support = AISystem.objects.get(slug="support")
    period = local_period(datetime.UTC)
    assert GateDay.objects.exists() and local_days_are_utc_days(period, datetime.UTC)
    counts = trend(ai_system=support, period=period, size=size)
    days = buckets(period, size)
    want = expected(period, size, datetime.UTC)
    assert shown(counts, days) == want
    assert sum(row[0] for row in want.values()) and sum(row[3] for row in want.values())


@pytest.mark.parametrize("size", ["day", "week"])
def test_trend_in_another_zone_equals_plain_sql(world, size):
    support = AISystem.objects.get(slug="support")
    with timezone.override(BERLIN):
        period = local_period(BERLIN)
        assert not local_days_are_utc_days(period, BERLIN)
        counts = trend(ai_system=support, period=period, size=size)
        days = buckets(period, size)
        assert shown(counts, days) == expected(period, size, BERLIN)


def test_whole_summarised_days_are_read_from_the_summaries_only_in_utc(world):
    # A summary changed behind the report's back shows in UTC (the day is read from it) and not
    # in Berlin (every row counted): the test of which path each zone takes.
    support = AISystem.objects.get(slug="support")
    row = GateDay.objects.filter(ai_system=support, day__gte=at(1).date()).order_by("day").first()
    before = trend(ai_system=support, period=local_period(datetime.UTC), size="day")
    GateDay.objects.filter(pk=row.pk).update(gate_calls=row.gate_calls + 1000)
    after = trend(ai_system=support, period=local_period(datetime.UTC), size="day")
    assert after[row.day]["gate_calls"] == before[row.day]["gate_calls"] + 1000
    with timezone.override(BERLIN):
        period = local_period(BERLIN)
        assert (
            shown(trend(ai_system=support, period=period, size="day"), buckets(period, "day"))[
                row.day
            ]
            == expected(period, "day", BERLIN)[row.day]
        )


def test_a_london_winter_is_utc_days_and_a_summer_is_not():
    london = zoneinfo.ZoneInfo("Europe/London")
    winter = Period(
        start=datetime.datetime(2026, 1, 1, tzinfo=london),
        end=datetime.datetime(2026, 2, 1, tzinfo=london),
    )
    spanning = Period(
        start=datetime.datetime(2026, 3, 1, tzinfo=london),
        end=datetime.datetime(2026, 4, 1, tzinfo=london),  # summer time from 29 March
    )
    assert local_days_are_utc_days(winter, london)
    assert not local_days_are_utc_days(spanning, london)
    assert bucket_size(winter) == "day"
