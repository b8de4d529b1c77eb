"""Daily summaries of gate calls: the figures are the same with or without them."""

import datetime

import pytest
from django_q.models import Schedule

from oversight.metrics import Period, Scope, breakdown, figures, figures_by
from oversight.models import GateDay, GateEvaluation, GateRollup
from oversight.services.rollups import GRACE, recompute_gate_days, roll_up_gate_days
from tests.oversight.test_metrics import MAY, Data, at

pytestmark = pytest.mark.django_db

JUNE_1 = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
MAY_CLOSED = JUNE_1 + GRACE  # 31 May has been over for the grace period


@pytest.fixture
def data():
    return Data()


def summaries():
    return {
        (row.day.day, row.journey.slug): (row.gate_calls, row.routed_to_humans, row.blocked)
        for row in GateDay.objects.select_related("journey")
    }


def test_closed_days_are_summarised_per_journey_from_the_first_call(data):
    assert roll_up_gate_days(now=MAY_CLOSED) == 32  # 30 April to 31 May
    assert GateRollup.objects.get().complete_until == datetime.date(2026, 6, 1)
    assert summaries() == {
        (30, "refunds"): (1, 1, 0),  # 30 April
        (10, "refunds"): (2, 1, 0),
        (11, "refunds"): (2, 2, 0),
        (13, "billing"): (2, 0, 1),  # blocked is not routed to a person: counted on its own
        (14, "limits"): (1, 0, 0),
    }


def test_a_day_is_summarised_only_once_it_has_been_closed_for_the_grace_period(data):
    roll_up_gate_days(now=at(14) + datetime.timedelta(hours=14) + GRACE / 2)  # 14 May, 00:05
    assert GateRollup.objects.get().complete_until == datetime.date(2026, 5, 14)
    assert (14, "limits") not in summaries()
    assert roll_up_gate_days(now=at(15, 0) + GRACE) == 1  # 15 May, 00:10: the 14th closed
    assert summaries()[(14, "limits")] == (1, 0, 0)


def test_rolling_up_again_adds_nothing(data):
    roll_up_gate_days(now=MAY_CLOSED)
    before = summaries()
    assert roll_up_gate_days(now=MAY_CLOSED) == 0
    assert summaries() == before


def test_without_gate_calls_the_summaries_start_at_the_last_closed_day(db):
    assert roll_up_gate_days(now=MAY_CLOSED) == 0
    assert GateRollup.objects.get().complete_until == datetime.date(2026, 6, 1)


PERIODS = {
    "may": MAY,
    "partial days": Period(
        start=datetime.datetime(2026, 5, 10, 10, 30, tzinfo=datetime.UTC),
        end=datetime.datetime(2026, 5, 13, 12, tzinfo=datetime.UTC),
    ),
    "one partial day": Period(start=at(11, 0), end=at(11, 11)),
    "april and may": Period(start=at(1, month=4), end=JUNE_1),
}


@pytest.mark.parametrize("rolled_until", [None, at(12, 9), MAY_CLOSED])
@pytest.mark.parametrize("period", list(PERIODS), ids=str)
@pytest.mark.parametrize("scope", ["all", "s1", "j2", "p1"], ids=str)
def test_the_breakdown_with_summaries_equals_counting_every_call(data, rolled_until, period, scope):
    if rolled_until is not None:
        roll_up_gate_days(now=rolled_until)
    period = PERIODS[period]
    scope = {
        "all": Scope(),
        "s1": Scope(ai_system=data.s1),
        "j2": Scope(journey=data.j2),
        "p1": Scope(judgement_point=data.p1),
    }[scope]
    result = breakdown(period=period, scope=scope)
    assert result.overall == figures(period=period, scope=scope)
    for dimension in ("ai_system", "journey", "day"):
        assert getattr(result, dimension) == figures_by(dimension, period=period, scope=scope)


def test_the_summaries_are_read_not_recounted(data):
    roll_up_gate_days(now=MAY_CLOSED)
    GateDay.objects.filter(day=datetime.date(2026, 5, 10)).update(gate_calls=100)
    assert breakdown(period=MAY).overall.gate_calls == 7 - 2 + 100


def test_recomputing_days_counts_what_is_left(data):
    from django.db import transaction

    from tests.audit.conftest import triggers_bypassed

    roll_up_gate_days(now=MAY_CLOSED)
    # Deleted as only the retention purge may (PostgreSQL refuses any other DELETE).
    with transaction.atomic(), triggers_bypassed():
        GateEvaluation.objects.filter(journey=data.j3).delete()
    recompute_gate_days(None, datetime.date(2026, 5, 15))
    assert (14, "limits") not in summaries()
    assert summaries()[(13, "billing")] == (2, 0, 1)
    assert breakdown(period=MAY).overall == figures(period=MAY)


def test_the_summary_schedule_exists():
    schedule = Schedule.objects.get(name="Summarise gate days")
    assert schedule.func == "oversight.tasks.roll_up_gate_days"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 15)


def test_the_migration_moves_blocked_calls_out_of_existing_summaries_and_back(data):
    """Summaries written before blocked calls were counted apart held them among the routed."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("oversight.migrations.0012_gate_day_blocked_apart")
    roll_up_gate_days(now=MAY_CLOSED)
    GateDay.objects.filter(day=datetime.date(2026, 5, 13)).update(routed_to_humans=1, blocked=0)
    rows_before = GateDay.objects.count()

    migration.split_blocked(apps, None)
    assert summaries()[(13, "billing")] == (2, 0, 1)
    assert summaries()[(11, "refunds")] == (2, 2, 0)  # no blocked call: untouched
    assert breakdown(period=MAY).overall == figures(period=MAY)

    migration.join_blocked(apps, None)
    assert summaries()[(13, "billing")] == (2, 1, 0)
    assert GateDay.objects.count() == rows_before
