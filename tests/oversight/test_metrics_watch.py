"""Threshold calibration per confidence band and the automation-bias watch, on built data."""

import datetime

import pytest

from oversight.metrics import (
    ConfidenceBand,
    Period,
    Scope,
    automation_bias_watch,
    calibration_by_confidence,
    suggested_threshold,
)
from oversight.models import CaseStatus
from tests.factories import (
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = Period(
    start=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    end=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
)
WHEN = datetime.datetime(2026, 5, 10, 12, tzinfo=datetime.UTC)


@pytest.fixture
def level():
    return AuthorityLevelFactory(may_override=True)


@pytest.fixture
def reason():
    return OverrideReasonFactory()


def decided(journey, level, reviewer, *, confidence=0.5, outcome="approve", seconds=60, reason):
    case = CaseFactory(
        journey=journey,
        required_level=level,
        confidence=confidence,
        status=CaseStatus.DECIDED,
        decided_at=WHEN,
        opened_at=WHEN - datetime.timedelta(hours=1),
    )
    override = outcome in ("modify", "reject")
    extra = {"override_reason": reason, "rationale": "Policy."} if override else {}
    return DecisionFactory(
        case=case,
        reviewer=reviewer,
        outcome=outcome,
        is_override=override,
        decided_at=WHEN,
        time_spent_seconds=seconds,
        authority_level=level,
        **extra,
    )


def test_override_rate_per_confidence_band_and_the_suggested_threshold(level, reason):
    journey = JourneyFactory()
    other = JourneyFactory()
    reviewer = UserFactory()
    plan = {
        0.35: ["modify", "reject", "approve"],  # band 0.3: 2 of 3 overridden
        0.55: ["modify", "approve", "approve", "approve"],  # band 0.5: 1 of 4
        0.72: ["approve", "approve"],  # band 0.7: 0 of 2
        0.78: ["reject"],  # band 0.7: now 1 of 3
        0.91: ["approve", "approve", "approve"],  # band 0.9: 0 of 3
        1.0: ["approve"],  # 1.0 falls in the top band: 0 of 4
    }
    for confidence, outcomes in plan.items():
        for outcome in outcomes:
            decided(journey, level, reviewer, confidence=confidence, outcome=outcome, reason=reason)
    decided(other, level, reviewer, confidence=0.95, outcome="reject", reason=reason)

    bands = calibration_by_confidence(period=MAY, scope=Scope(journey=journey))
    assert bands == [
        ConfidenceBand(low=0.3, high=0.4, cases=3, overridden=2),
        ConfidenceBand(low=0.5, high=0.6, cases=4, overridden=1),
        ConfidenceBand(low=0.7, high=0.8, cases=3, overridden=1),
        ConfidenceBand(low=0.9, high=1.0, cases=4, overridden=0),
    ]
    assert bands[0].override_rate == pytest.approx(2 / 3)
    assert suggested_threshold(bands, max_override_rate=0.3) == 0.9
    assert suggested_threshold(bands, max_override_rate=0.34) == 0.5
    assert suggested_threshold(bands, max_override_rate=0.7) == 0.3
    assert suggested_threshold(bands[:1], max_override_rate=0.1) is None
    # The other journey's case counts only when the scope includes it.
    assert calibration_by_confidence(period=MAY)[-1] == ConfidenceBand(0.9, 1.0, 5, 1)


def test_a_fast_reviewer_who_always_agrees_is_flagged(level, reason):
    journey = JourneyFactory()
    stamp, careful, sceptic = UserFactory(), UserFactory(), UserFactory()
    for _ in range(20):
        decided(journey, level, stamp, seconds=10, reason=reason)
    for index in range(20):
        outcome = "modify" if index < 4 else "approve"
        decided(journey, level, careful, seconds=200, outcome=outcome, reason=reason)
    for index in range(20):  # as fast as the rubber stamp, but disagrees often: not flagged
        decided(
            journey,
            level,
            sceptic,
            seconds=10,
            outcome="reject" if index % 2 else "approve",
            reason=reason,
        )
    decided(journey, level, stamp, outcome="escalate", seconds=5, reason=reason)  # not counted

    watch = automation_bias_watch(period=MAY, min_decisions=20)
    patterns = {pattern.reviewer_id: pattern for pattern in watch.reviewers}
    assert (patterns[stamp.pk].decisions, patterns[stamp.pk].agreed) == (20, 20)
    assert patterns[stamp.pk].median_seconds == 10
    assert patterns[careful.pk].agreement_rate == 0.8
    assert patterns[careful.pk].median_seconds == 200
    assert patterns[sceptic.pk].agreement_rate == 0.5
    assert watch.peer_median_seconds == 10
    assert [pattern.reviewer_id for pattern in watch.flagged] == [stamp.pk]


def test_too_few_decisions_or_ordinary_speed_flag_nobody(level, reason):
    journey = JourneyFactory()
    quick_but_few, steady = UserFactory(), UserFactory()
    for _ in range(5):
        decided(journey, level, quick_but_few, seconds=5, reason=reason)
    for _ in range(25):
        decided(journey, level, steady, seconds=100, reason=reason)
    watch = automation_bias_watch(period=MAY, min_decisions=20)
    assert watch.flagged == []
    assert {p.reviewer_id: p.decisions for p in watch.reviewers} == {
        quick_but_few.pk: 5,
        steady.pk: 25,
    }
