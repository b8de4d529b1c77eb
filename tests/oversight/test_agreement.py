"""Shadow-mode agreement (oversight.metrics.agreement): hand-counted fixtures, recomputed in SQL."""

import datetime
import math

import pytest
from django.db import connection
from django.utils import timezone

from oversight.metrics.agreement import NO_CONFIDENCE, NO_POINT, agreement_for, wilson_interval
from oversight.models import CaseStatus, DecisionOutcome, DecisionStage, RouteReason
from tests.factories import DecisionFactory, JourneyFactory, JudgementPointFactory
from tests.oversight.shadow_cases import decided_shadow_case

pytestmark = pytest.mark.django_db


def test_wilson_interval_matches_the_textbook_values():
    # 8 of 10: the Wilson 95 % interval is 0.4902 – 0.9433 (Newcombe 1998, method 3).
    low, high = wilson_interval(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-4)
    assert math.isclose(high, 0.9433, abs_tol=1e-4)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and math.isclose(low, 0.7225, abs_tol=1e-4)
    assert wilson_interval(0, 0) is None


@pytest.fixture
def journey():
    return JourneyFactory(name="Refunds")


def test_agreement_counts_approvals_of_decided_shadow_cases_only(journey):
    big = JudgementPointFactory(journey=journey, name="Big refund")
    vip = JudgementPointFactory(journey=journey, name="VIP customer")
    # Hand count: 4 agree (0.8 band: 2, 0.9 band: 1, no confidence: 1), 3 disagree.
    decided_shadow_case(journey, DecisionOutcome.APPROVE, confidence=0.85, points=[big])
    decided_shadow_case(journey, DecisionOutcome.APPROVE, confidence=0.81, points=[big, vip])
    decided_shadow_case(journey, DecisionOutcome.APPROVE, confidence=1.0)
    decided_shadow_case(journey, DecisionOutcome.APPROVE, confidence=None)
    decided_shadow_case(journey, DecisionOutcome.MODIFY, confidence=0.82, points=[big])
    decided_shadow_case(journey, DecisionOutcome.REJECT, confidence=0.95)
    decided_shadow_case(journey, DecisionOutcome.REJECT, confidence=0.3, points=[vip])
    # Not counted: a live trigger case, an open shadow case, another journey's shadow case.
    decided_shadow_case(journey, DecisionOutcome.APPROVE, route_reason=RouteReason.TRIGGER)
    decided_shadow_case(journey, DecisionOutcome.APPROVE, status=CaseStatus.OPEN)
    decided_shadow_case(JourneyFactory(), DecisionOutcome.APPROVE)

    report = agreement_for(journey)

    assert (report.overall.decided, report.overall.agreed) == (7, 4)
    assert math.isclose(report.overall.rate, 4 / 7)
    bands = {band.label: (band.decided, band.agreed) for band in report.by_band}
    assert bands == {
        "0.3–0.4": (1, 0),
        "0.8–0.9": (3, 2),
        "0.9–1.0": (2, 1),
        NO_CONFIDENCE: (1, 1),
    }
    assert report.by_band[-1].label == NO_CONFIDENCE
    points = {point.label: (point.decided, point.agreed) for point in report.by_point}
    assert points == {"Big refund": (3, 2), "VIP customer": (2, 1), NO_POINT: (3, 2)}


def test_the_final_decision_counts_not_the_first(journey):
    """A four-eyes case escalated after a disagreement, then approved at the next round."""
    case = decided_shadow_case(journey, DecisionOutcome.REJECT)
    opened = case.opened_at
    DecisionFactory(
        case=case,
        review_round=2,
        stage=DecisionStage.FIRST,
        outcome=DecisionOutcome.APPROVE,
        decided_at=opened + datetime.timedelta(hours=1),
    )
    escalated = decided_shadow_case(journey, DecisionOutcome.ESCALATE)
    DecisionFactory(
        case=escalated,
        review_round=2,
        outcome=DecisionOutcome.REJECT,
        decided_at=escalated.opened_at + datetime.timedelta(hours=1),
    )

    overall = agreement_for(journey).overall

    assert (overall.decided, overall.agreed) == (2, 1)


def test_the_current_shadow_period_is_measured_from_shadow_since(journey):
    now = timezone.now()
    decided_shadow_case(journey, opened_at=now - datetime.timedelta(days=10))
    decided_shadow_case(journey, DecisionOutcome.REJECT, opened_at=now - datetime.timedelta(days=1))
    journey.shadow_since = now - datetime.timedelta(days=2)

    assert agreement_for(journey).overall.decided == 1
    assert agreement_for(journey, since=now - datetime.timedelta(days=30)).overall.decided == 2


def test_agreement_recomputed_with_plain_sql(journey):
    for index in range(12):
        outcome = DecisionOutcome.APPROVE if index % 3 else DecisionOutcome.MODIFY
        decided_shadow_case(journey, outcome, confidence=0.5 + index / 30)
    decided_shadow_case(journey, DecisionOutcome.APPROVE, status=CaseStatus.OPEN)

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*), SUM(CASE WHEN (
                SELECT d.outcome FROM oversight_decision d WHERE d.case_id = c.id
                ORDER BY d.review_round DESC, d.decided_at DESC LIMIT 1
            ) = 'approve' THEN 1 ELSE 0 END)
            FROM oversight_case c
            WHERE c.journey_id = %s AND c.route_reason = 'shadow' AND c.status = 'decided'
            """,
            [journey.pk.hex if connection.vendor == "sqlite" else journey.pk],
        )
        decided, agreed = cursor.fetchone()

    overall = agreement_for(journey).overall
    assert (overall.decided, overall.agreed) == (decided, agreed) == (12, 8)
    assert sum(band.decided for band in agreement_for(journey).by_band) == decided


def test_agreement_takes_a_fixed_number_of_queries(journey, django_assert_max_num_queries):
    points = [JudgementPointFactory(journey=journey) for _ in range(3)]
    for index in range(20):
        decided_shadow_case(journey, confidence=index / 20, points=points[: index % 4])

    with django_assert_max_num_queries(3):
        agreement_for(journey)
