"""The automation-bias watch and the outcome scope held to plain SQL over the raw rows.

`automation_bias_watch` reads every reviewer's counts and median and the overall median in one
GROUPING SETS query on PostgreSQL; the outcome scope by AI system or journey reaches the gate
evaluation through an EXISTS on its primary key. Both must give exactly what the raw rows say,
on SQLite and PostgreSQL.
"""

import datetime
import statistics
import uuid

import pytest
from django.db import connection

from oversight.metrics import Period, Scope, automation_bias_watch, escalating_points
from oversight.metrics.figures import _scope_q
from oversight.models import CaseStatus, Outcome
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    GateEvaluationFactory,
    JourneyFactory,
    OutcomeFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = Period(
    start=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    end=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
)
WHEN = datetime.datetime(2026, 5, 10, 12, tzinfo=datetime.UTC)


def _key(pk):
    """A primary key as the raw cursor takes it (SQLite stores UUIDs as hex)."""
    return pk.hex if connection.vendor == "sqlite" and isinstance(pk, uuid.UUID) else pk


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def decide(journey, reviewer, *, outcome="approve", seconds=60, when=WHEN):
    level = AuthorityLevelFactory(may_override=True)
    case = CaseFactory(
        journey=journey,
        required_level=level,
        status=CaseStatus.DECIDED,
        decided_at=when,
        opened_at=when - datetime.timedelta(hours=1),
    )
    override = outcome in ("modify", "reject")
    extra = {"override_reason": OverrideReasonFactory(), "rationale": "Policy."} if override else {}
    return DecisionFactory(
        case=case,
        reviewer=reviewer,
        outcome=outcome,
        is_override=override,
        decided_at=when,
        time_spent_seconds=seconds,
        authority_level=level,
        **extra,
    )


def plain_watch(ai_system) -> tuple[dict, float | None]:
    """Per reviewer (decisions, agreed, median seconds) and the overall median, from the raw
    decision rows of the AI system in May (escalations left out), with Python's arithmetic."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.reviewer_id, d.outcome, d.is_override, d.time_spent_seconds "
            "FROM oversight_decision d JOIN oversight_case c ON c.id = d.case_id "
            "JOIN oversight_journey j ON j.id = c.journey_id "
            "WHERE j.ai_system_id = %s AND d.decided_at >= '2026-05-01' "
            "AND d.decided_at < '2026-06-01' AND d.outcome <> 'escalate'",
            [_key(ai_system.pk)],
        )
        rows = cursor.fetchall()
    reviewers: dict = {}
    for reviewer_id, outcome, is_override, seconds in rows:
        entry = reviewers.setdefault(reviewer_id, {"decisions": 0, "agreed": 0, "times": []})
        entry["decisions"] += 1
        entry["agreed"] += outcome in ("approve", "agree") and not is_override
        if seconds is not None:
            entry["times"].append(seconds)
    everyone = [t for entry in reviewers.values() for t in entry["times"]]
    return (
        {
            reviewer_id: (
                entry["decisions"],
                entry["agreed"],
                statistics.median(entry["times"]) if entry["times"] else None,
            )
            for reviewer_id, entry in reviewers.items()
        },
        statistics.median(everyone) if everyone else None,
    )


def test_the_watch_of_an_ai_system_is_exactly_what_its_decision_rows_say(
    django_assert_num_queries,
):
    system = AISystemFactory()
    journey, elsewhere = JourneyFactory(ai_system=system), JourneyFactory()
    stamp, careful, untimed = UserFactory(), UserFactory(), UserFactory()
    for _ in range(20):
        decide(journey, stamp, seconds=10)
    decide(journey, stamp, outcome="escalate", seconds=1)  # escalations do not count
    decide(elsewhere, stamp, outcome="reject", seconds=900)  # another AI system
    decide(journey, stamp, seconds=5000, when=WHEN + datetime.timedelta(days=40))  # June
    for index in range(21):
        decide(journey, careful, outcome="modify" if index < 5 else "approve", seconds=100 + index)
    for _ in range(22):
        decide(journey, untimed, seconds=None)  # agrees always, but has no times at all
    decide(journey, careful, outcome="agree", seconds=7)

    # PostgreSQL: one query for every reviewer and the overall median, one for the flagged
    # reviewer's peers, one giving the peers' percentile its sort memory.
    # SQLite: counts; per timed reviewer COUNT + one OFFSET read (the untimed one: its COUNT
    # only); peers; overall.
    expected = 3 if connection.vendor == "postgresql" else 1 + (2 + 2 + 1) + 2 + 2
    with django_assert_num_queries(expected):
        watch = automation_bias_watch(period=MAY, scope=Scope(ai_system=system))

    reviewers, overall = plain_watch(system)
    assert {
        p.reviewer_id: (p.decisions, p.agreed, p.median_seconds) for p in watch.reviewers
    } == reviewers
    assert reviewers[stamp.pk] == (20, 20, 10)
    assert reviewers[untimed.pk] == (22, 22, None)
    assert watch.peer_median_seconds == overall
    assert [p.reviewer_id for p in watch.flagged] == [stamp.pk]


def test_an_empty_scope_gives_no_reviewers_and_no_median():
    watch = automation_bias_watch(period=MAY, scope=Scope(ai_system=AISystemFactory()))
    assert (watch.reviewers, watch.flagged, watch.peer_median_seconds) == ([], [], None)


def plain_outcomes(*, ai_system=None, journey=None) -> set:
    """The outcomes whose case or gate evaluation is in the AI system (or the journey)."""
    case_side, evaluation_side = (
        ("j.ai_system_id", "g.ai_system_id") if ai_system else ("c.journey_id", "g.journey_id")
    )
    key = _key((ai_system or journey).pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id FROM oversight_outcome o "
            "LEFT JOIN oversight_case c ON c.id = o.case_id "
            "LEFT JOIN oversight_journey j ON j.id = c.journey_id "
            "LEFT JOIN oversight_gateevaluation g ON g.id = o.evaluation_id "
            f"WHERE {case_side} = %s OR {evaluation_side} = %s",
            [key, key],
        )
        return {_uuid(row[0]) for row in cursor.fetchall()}


def test_the_outcome_scope_takes_either_side_exactly_as_the_raw_rows_say(
    django_assert_num_queries,
):
    system, other = AISystemFactory(), AISystemFactory()
    journey, foreign = JourneyFactory(ai_system=system), JourneyFactory(ai_system=other)
    on_case = OutcomeFactory(case=CaseFactory(journey=journey))
    via_evaluation = OutcomeFactory(
        case=CaseFactory(journey=foreign), evaluation=GateEvaluationFactory(journey=journey)
    )
    evaluation_only = OutcomeFactory(case=None, evaluation=GateEvaluationFactory(journey=journey))
    OutcomeFactory(case=None, evaluation=GateEvaluationFactory(journey=foreign))
    OutcomeFactory(case=CaseFactory(journey=foreign))

    for scope, plain in (
        (Scope(ai_system=system), plain_outcomes(ai_system=system)),
        (Scope(journey=journey), plain_outcomes(journey=journey)),
        (Scope(ai_system=other), plain_outcomes(ai_system=other)),
    ):
        scoped = set(
            Outcome.objects.filter(_scope_q(scope, "outcome")).values_list("pk", flat=True)
        )
        assert scoped == plain
    assert plain_outcomes(ai_system=system) == {on_case.pk, via_evaluation.pk, evaluation_only.pk}
    assert len(plain_outcomes(ai_system=other)) == 3

    # The escalating-points watch keeps its three grouped queries under the AI system's scope.
    with django_assert_num_queries(3):
        escalating_points(period=MAY, scope=Scope(ai_system=system))
