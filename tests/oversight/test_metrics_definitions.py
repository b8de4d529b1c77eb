"""Each headline figure counts what its printed definition says, and only that.

Four-eyes rounds are built as `decide_case` leaves them: a second review that does not confirm
the first closes the round (the case's `review_round` goes up), a confirmation decides the case.
"""

import datetime

import pytest

from oversight.metrics import Period, Scope, breakdown, customer_effort_by_route, figures
from oversight.metrics.definitions import BY_KEY, DEFINITIONS, duration, percent
from oversight.models import CaseStatus, GateEvaluation, Route, RouteReason
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
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


def at(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 5, day, hour, tzinfo=datetime.UTC)


@pytest.fixture
def journey():
    return JourneyFactory(ai_system=AISystemFactory(slug="support"), slug="refunds")


@pytest.fixture
def level():
    return AuthorityLevelFactory(name="Reviewer", rank=1, may_override=True)


def gate(journey, route, when, **extra):
    return GateEvaluation.objects.create(
        ai_system=journey.ai_system,
        journey=journey,
        action_type="refund",
        route=route,
        created_at=when,
        **extra,
    )


def case(journey, level, *, decided=None, **extra):
    return CaseFactory(
        journey=journey,
        required_level=level,
        opened_at=at(2),
        sla_deadline=at(2, 14),
        status=CaseStatus.DECIDED if decided else CaseStatus.ESCALATED,
        decided_at=decided,
        **extra,
    )


def decide(case, outcome, when, *, override=False, round_=1, stage="first", **extra):
    if override:
        extra.update(override_reason=OverrideReasonFactory(code="policy"), rationale="Policy.")
    return DecisionFactory(
        case=case,
        reviewer=UserFactory(),
        outcome=outcome,
        is_override=override,
        decided_at=when,
        review_round=round_,
        stage=stage,
        **extra,
    )


def test_blocked_calls_are_not_routed_to_people_and_are_shown_on_their_own(journey):
    for route in (Route.HUMAN, Route.BLOCKED, Route.BLOCKED, Route.AUTOMATE, Route.AUTOMATE):
        gate(journey, route, at(3))
    result = figures(period=MAY)
    assert (result.gate_calls, result.routed_to_humans, result.blocked) == (5, 1, 2)
    assert (result.routed_share, result.blocked_share) == (0.2, 0.4)
    assert breakdown(period=MAY).overall == result  # the dashboard's path agrees


def test_a_second_reviewers_confirmation_of_an_override_is_not_counted_again(journey, level):
    confirmed = case(journey, level, decided=at(4, 11), four_eyes=True)
    decide(confirmed, "modify", at(4), override=True, final_action={"refund": 10})
    decide(
        confirmed, "modify", at(4, 11), override=True, stage="second", final_action={"refund": 10}
    )
    plain = case(journey, level, decided=at(5))
    decide(plain, "approve", at(5))
    result = figures(period=MAY)
    assert result.live_decisions == 3  # both reviews of the four-eyes case are decisions
    assert (result.overrides, result.cases_judged) == (1, 2)  # but one overridden case of two
    assert result.override_rate == 0.5


def test_an_override_first_made_before_the_period_is_not_counted_in_it(journey, level):
    confirmed = case(journey, level, decided=at(1, 1), four_eyes=True)
    decide(confirmed, "reject", at(30, 23).replace(month=4), override=True)
    decide(confirmed, "reject", at(1, 1), override=True, stage="second")
    result = figures(period=MAY)
    assert (result.live_decisions, result.overrides, result.cases_judged) == (1, 0, 0)
    assert result.override_rate is None


def test_escalations_are_split_by_cause(journey, level):
    # a reviewer escalates (round 1), then the case is decided in round 2
    by_reviewer = case(journey, level, decided=at(6, 12), review_round=2)
    decide(by_reviewer, "escalate", at(6), rationale="Above me.")
    decide(by_reviewer, "approve", at(6, 12), round_=2)
    # four eyes: the second reviewer disagrees, the round closes, the case goes up a level
    disagreed = case(journey, level, four_eyes=True, review_round=2)
    decide(disagreed, "approve", at(7))
    decide(disagreed, "reject", at(7, 11), stage="second")
    # four eyes: the second reviewer escalates: a reviewer escalation, not a disagreement
    second_escalates = case(journey, level, four_eyes=True, review_round=2)
    decide(second_escalates, "approve", at(8))
    decide(second_escalates, "escalate", at(8, 11), stage="second", rationale="Unsure.")
    # four eyes confirmed: no escalation at all
    confirmed = case(journey, level, decided=at(9, 11), four_eyes=True)
    decide(confirmed, "approve", at(9))
    decide(confirmed, "approve", at(9, 11), stage="second")
    # the SLA sweep escalates a case whose deadline passed
    case(journey, level, sla_breached_at=at(10), review_round=2)

    result = figures(period=MAY)
    assert (result.escalations, result.four_eyes_disagreements, result.sla_breaches) == (2, 1, 1)
    assert result.escalations_all == 4
    assert breakdown(period=MAY).overall == result


def test_outcomes_of_sample_audits_count_as_automated_not_decided_by_a_person(journey, level):
    evaluation = gate(journey, Route.AUTOMATE, at(3), sampled=True)
    audit = case(
        journey, level, decided=at(4), route_reason=RouteReason.SAMPLE_AUDIT, evaluation=evaluation
    )
    decide(audit, "disagree", at(4), rationale="Wrong refund.")
    OutcomeFactory(case=audit, evaluation=None, customer_effort=6, reported_at=at(5))
    OutcomeFactory(case=None, evaluation=evaluation, customer_effort=4, reported_at=at(5))
    routed = case(journey, level, decided=at(4))
    decide(routed, "approve", at(4))
    OutcomeFactory(case=routed, customer_effort=2, reported_at=at(5))

    result = customer_effort_by_route(period=MAY, scope=Scope(ai_system=journey.ai_system))
    assert (result["automated"].count, result["automated"].median) == (2, 5.0)
    assert (result["human"].count, result["human"].median) == (1, 2.0)
    assert result["overridden"].count == 0


def test_every_definition_is_one_sentence_saying_what_is_counted():
    assert len(BY_KEY) == len(DEFINITIONS)  # keys are unique
    for item in DEFINITIONS:
        assert item.label and item.definition.endswith(".")
        assert "\n" not in item.definition and len(item.definition) < 240
    assert "blocked calls are not included" in BY_KEY["routed_share"].definition
    assert "not counted again" in BY_KEY["overrides"].definition
    assert "sample audit" in BY_KEY["route_automated"].definition


@pytest.mark.parametrize(
    ("value", "printed"),
    [(None, "–"), (0, "0.0 %"), (5 / 7, "71.4 %"), (1, "100.0 %"), (0.00049, "0.0 %")],
)
def test_one_rounding_rule_for_every_rate(value, printed):
    assert percent(value) == printed


def test_the_compliance_guide_lists_the_definitions_the_report_prints():
    from pathlib import Path

    from django.conf import settings

    from oversight.metrics.definitions import markdown_table

    guide = (Path(settings.BASE_DIR) / "docs" / "compliance-guide.md").read_text()
    start = guide.index("<!-- figure-definitions:start -->\n") + len(
        "<!-- figure-definitions:start -->\n"
    )
    end = guide.index("\n<!-- figure-definitions:end -->")
    assert guide[start:end] == markdown_table()
    for item in DEFINITIONS:
        assert f"| **{item.label}** | {item.definition} |" in guide


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, "–"),
        (0, "0 s"),
        (44.6, "45 s"),
        (60, "1 min"),
        (500, "8 min 20 s"),
        (1800.0, "30 min"),
        (3599, "1 h"),
        (4050, "1 h 8 min"),  # the dashboard's "median 4050 s" of the walk
        (7200, "2 h"),
        (2 * 86400 + 3 * 3600 + 100, "2 d 3 h"),
    ],
)
def test_a_duration_reads_as_a_person_says_it(seconds, said):
    assert duration(seconds) == said
