"""Read-side queries of the reviewer workspace: precedents, earlier cases, queue and counts."""

import datetime

import pytest
from django.utils import timezone

from oversight.models import CaseStatus, RouteReason
from oversight.review_selectors import (
    QueueFilters,
    earlier_cases,
    matched_points,
    precedents,
    queue_for,
    state_counts,
    tab_counts,
)
from oversight.selectors import final_decision
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    JudgementPointFactory,
    TriggerConditionFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def points(journey):
    return {name: JudgementPointFactory(journey=journey, slug=name) for name in "abc"}


def decided(journey, levels, *, points=(), confidence=0.5, days_ago=1, **fields):
    case = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        confidence=confidence,
        status=CaseStatus.DECIDED,
        decided_at=timezone.now() - days_ago * DAY,
        **fields,
    )
    case.judgement_points.set(points)
    return case


def test_precedents_rank_by_shared_points_then_closeness_of_confidence_then_recency(
    journey, levels, points
):
    a, b, c = points["a"], points["b"], points["c"]
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], confidence=0.5)
    case.judgement_points.set([a, b])
    both_far = decided(journey, levels, points=[a, b], confidence=0.9, days_ago=3)
    both_close = decided(journey, levels, points=[a, b], confidence=0.55, days_ago=5)
    one_exact_recent = decided(journey, levels, points=[a], confidence=0.5, days_ago=1)
    one_exact_older = decided(journey, levels, points=[a], confidence=0.5, days_ago=2)
    one_farther = decided(journey, levels, points=[b], confidence=0.8, days_ago=0)
    decided(journey, levels, points=[b], confidence=None, days_ago=0)  # sixth: cut by the limit
    decided(journey, levels, points=[c])  # nothing in common
    undecided = CaseFactory(journey=journey, required_level=levels["reviewer"])
    undecided.judgement_points.set([a, b])
    decided(journey, levels, points=[a, b], route_reason=RouteReason.SAMPLE_AUDIT)
    decided(JourneyFactory(), levels)  # another journey

    found = precedents(case)

    assert found == [both_close, both_far, one_exact_recent, one_exact_older, one_farther]
    assert [p.shared for p in found] == [2, 2, 1, 1, 1]


def test_a_precedent_without_confidence_comes_after_those_with(journey, levels, points):
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], confidence=0.5)
    case.judgement_points.set([points["a"]])
    unknown = decided(journey, levels, points=[points["a"]], confidence=None, days_ago=0)
    known = decided(journey, levels, points=[points["a"]], confidence=0.1, days_ago=9)

    assert precedents(case) == [known, unknown]


def test_precedents_of_a_case_no_point_fired_for_share_its_route_reason(journey, levels, points):
    case = CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN,
    )
    same = decided(journey, levels, route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN)
    decided(journey, levels, route_reason=RouteReason.TRIGGER)
    decided(
        journey,
        levels,
        points=[points["a"]],
        route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN,
    )

    assert precedents(case) == [same]


def test_sample_audits_are_compared_with_sample_audits(journey, levels, points):
    case = CaseFactory(
        journey=journey, required_level=levels["reviewer"], route_reason=RouteReason.SAMPLE_AUDIT
    )
    audit = decided(journey, levels, route_reason=RouteReason.SAMPLE_AUDIT)
    decided(journey, levels, route_reason=RouteReason.TRIGGER)

    assert precedents(case) == [audit]


def test_precedents_carry_their_final_decision_in_a_fixed_number_of_queries(
    journey, levels, points, senior, reason, django_assert_num_queries
):
    case = CaseFactory(journey=journey, required_level=levels["reviewer"])
    case.judgement_points.set([points["a"]])
    for _ in range(4):
        precedent = decided(journey, levels, points=[points["a"]])
        DecisionFactory(
            case=precedent,
            reviewer=senior,
            outcome="reject",
            is_override=True,
            override_reason=reason,
            rationale="No.",
        )
    case = type(case).objects.prefetch_related("judgement_points").get(pk=case.pk)

    with django_assert_num_queries(3):
        found = precedents(case)
        decisions = [final_decision(p) for p in found]
        labels = [(d.outcome, d.is_override, d.override_reason.code) for d in decisions]

    assert labels == [("reject", True, "policy-exception")] * 4


def test_earlier_cases_are_the_same_customers_with_the_same_system_newest_first(journey, levels):
    now = timezone.now()
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="c-1")
    sibling = JourneyFactory(ai_system=journey.ai_system)
    older = CaseFactory(journey=journey, subject_ref="c-1", opened_at=now - 5 * DAY)
    newer = CaseFactory(journey=sibling, subject_ref="c-1", opened_at=now - DAY)
    CaseFactory(journey=JourneyFactory(ai_system=AISystemFactory()), subject_ref="c-1")
    CaseFactory(journey=journey, subject_ref="c-2")

    assert earlier_cases(case) == [newer, older]
    assert earlier_cases(case, limit=1) == [newer]


def test_earlier_cases_stay_within_what_the_viewer_may_see(journey, levels, reviewer):
    from oversight.services.authority import decidable_cases

    case = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="c-1")
    visible = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="c-1")
    CaseFactory(journey=journey, required_level=levels["lead"], subject_ref="c-1")
    CaseFactory(journey=JourneyFactory(ai_system=journey.ai_system), subject_ref="c-1")

    assert earlier_cases(case, within=decidable_cases(reviewer)) == [visible]


def test_a_case_without_a_customer_reference_has_no_earlier_cases(journey, levels):
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], subject_ref="")
    CaseFactory(journey=journey, subject_ref="")

    assert earlier_cases(case) == []


def test_queue_counts_and_tabs(journey, levels, reviewer):
    now = timezone.now()
    for status in (CaseStatus.OPEN, CaseStatus.OPEN, CaseStatus.ESCALATED):
        CaseFactory(journey=journey, required_level=levels["reviewer"], status=status)
    CaseFactory(
        journey=journey, required_level=levels["reviewer"], status="decided", decided_at=now
    )
    CaseFactory(
        journey=journey, required_level=levels["reviewer"], route_reason=RouteReason.SAMPLE_AUDIT
    )

    counts = {c.state: c.count for c in state_counts(reviewer, QueueFilters())}

    assert counts == {
        "": 3,
        "open": 2,
        "claimed": 0,
        "awaiting_second_review": 0,
        "escalated": 1,
        "decided": 1,
    }
    assert tab_counts(reviewer) == {"live": 3, "audit": 1}
    assert queue_for(reviewer, QueueFilters(tab="audit")).count() == 1


def test_matched_points_of_a_case_opened_without_a_gate_call_show_their_conditions(journey, levels):
    point = JudgementPointFactory(journey=journey, name="Large refund", description="Check it.")
    TriggerConditionFactory(judgement_point=point, signal="amount", operator="gt", value=500)
    case = CaseFactory(journey=journey, required_level=levels["reviewer"], evaluation=None)
    case.judgement_points.add(point)

    [matched] = matched_points(case)

    assert (matched.name, matched.description, matched.from_gate) == (
        "Large refund",
        "Check it.",
        False,
    )
    [condition] = matched.conditions
    assert (condition.signal, condition.operator, condition.threshold) == (
        "amount",
        "is above",
        500,
    )
