"""The oversight watch: points escalating too much (`escalating_points`) and the watch page."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group

from oversight.metrics import Period, Scope, escalating_points
from oversight.models import CaseStatus, Outcome
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER
from tests.factories import (
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    GateEvaluationFactory,
    JourneyFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/admin/oversight/oversight-watch/"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
PERIOD = Period.last_days(30, now=NOW)  # halves split at 2026-05-17 00:00
EARLY = datetime.datetime(2026, 5, 5, 12, tzinfo=datetime.UTC)
LATE = datetime.datetime(2026, 5, 25, 12, tzinfo=datetime.UTC)


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


class Watched:
    """Judgement points with built halves, and two reviewers for the rubber-stamp watch.

    rising: overrides 1 in 10 → 5 in 11; complaint-or-reversal 1 in 4 both halves (the late one
    reported on the gate evaluation), effort 3 → 3: flagged. steady: overrides flat. improving:
    overrides rise, complaints fall to 0. unmeasured: overrides rise, no outcomes. thin: rises
    on 5 decisions per half. Rubber stamp: 20 approvals at 10 s; careful: 20 at 200 s, 4 changed.
    """

    def __init__(self):
        self.level = AuthorityLevelFactory(may_override=True)
        self.reason = OverrideReasonFactory(code="policy")
        self.journey = JourneyFactory(name="Refunds")
        self.quiet = JourneyFactory(name="Questions")
        self.reviewer = UserFactory(username="rita")
        self.stamp = UserFactory(username="stamp", first_name="Sonny", last_name="Stamp")
        self.careful = UserFactory(username="careful")

        def point(slug):
            return JudgementPointFactory(
                journey=self.journey, slug=slug, name=slug.title(), required_level=self.level
            )

        self.rising = point("rising")
        self.steady = point("steady")
        self.improving = point("improving")
        self.unmeasured = point("unmeasured")
        self.thin = point("thin")
        flat = ([3, 3, 3, 3], [True, False, False, False])  # effort 3, one complaint in four
        self.half(self.rising, EARLY, 10, 1, *flat)
        self.half(self.rising, LATE, 10, 5, [3, 3, 3], [False, False, False], via_gate=(3, True))
        self.half(self.steady, EARLY, 10, 1, *flat)
        self.half(self.steady, LATE, 10, 1, *flat)
        self.half(self.improving, EARLY, 10, 1, *flat)
        self.half(self.improving, LATE, 10, 5, [3, 3, 3, 3], [False] * 4)
        self.half(self.unmeasured, EARLY, 10, 1, [], [])
        self.half(self.unmeasured, LATE, 10, 5, [], [])
        self.half(self.thin, EARLY, 5, 0, *flat)
        self.half(self.thin, LATE, 5, 4, *flat)
        for index in range(20):
            self.decide(self.quiet, [], EARLY, self.stamp, override=False, seconds=10)
            self.decide(self.quiet, [], LATE, self.careful, override=index < 4, seconds=200)

    def decide(self, journey, points, when, reviewer, *, override, seconds=None, evaluation=None):
        case = CaseFactory(
            journey=journey,
            required_level=self.level,
            evaluation=evaluation,
            status=CaseStatus.DECIDED,
            opened_at=when - datetime.timedelta(hours=1),
            decided_at=when,
        )
        case.judgement_points.set(points)
        extra = {"override_reason": self.reason, "rationale": "Policy."} if override else {}
        DecisionFactory(
            case=case,
            reviewer=reviewer,
            outcome="modify" if override else "approve",
            is_override=override,
            decided_at=when,
            time_spent_seconds=seconds,
            authority_level=self.level,
            **extra,
        )
        return case

    def half(self, point, when, decisions, overrides, efforts, complaints, *, via_gate=None):
        cases = [
            self.decide(self.journey, [point], when, self.reviewer, override=index < overrides)
            for index in range(decisions)
        ]
        for case, effort, complaint in zip(cases, efforts, complaints, strict=False):
            Outcome.objects.create(
                case=case, customer_effort=effort, complaint=complaint, reported_at=when
            )
        if via_gate:
            evaluation = GateEvaluationFactory(journey=self.journey, created_at=when)
            self.decide(
                self.journey, [point], when, self.reviewer, override=False, evaluation=evaluation
            )
            effort, complaint = via_gate
            Outcome.objects.create(
                evaluation=evaluation,
                customer_effort=effort,
                complaint=complaint,
                reported_at=when,
            )


@pytest.fixture
def data():
    with time_machine.travel(NOW, tick=False):
        yield Watched()


# --- the rule --------------------------------------------------------------------------------


def test_rising_overrides_with_flat_outcomes_flag_the_point_and_only_that_one(data):
    points = {row["point_id"]: row for row in escalating_points(period=PERIOD)}
    assert [pk for pk, row in points.items() if row["flagged"]] == [data.rising.pk]
    rising = points[data.rising.pk]
    assert (rising["first"]["decisions"], rising["first"]["overrides"]) == (10, 1)
    # The late half holds one more decision: the case opened by the gate evaluation.
    assert (rising["second"]["decisions"], rising["second"]["overrides"]) == (11, 5)
    assert rising["rise"] == pytest.approx(5 / 11 - 1 / 10)
    # The outcome reported on the gate evaluation counts for the point of its case.
    assert (rising["second"]["answered"], rising["second"]["bad"]) == (4, 1)
    assert rising["first"]["bad_outcome_rate"] == rising["second"]["bad_outcome_rate"] == 0.25
    assert rising["first"]["mean_effort"] == rising["second"]["mean_effort"] == 3
    assert rising["outcomes_improved"] is False


def test_normal_points_stay_silent_with_the_reason_in_their_evidence(data):
    points = {row["point_id"]: row for row in escalating_points(period=PERIOD)}
    assert points[data.steady.pk]["rise"] == 0
    assert points[data.improving.pk]["outcomes_improved"] is True
    assert points[data.improving.pk]["rise"] == pytest.approx(0.4)
    assert points[data.unmeasured.pk]["outcomes_improved"] is None  # no outcomes: no flag
    assert points[data.thin.pk]["rise"] == pytest.approx(0.8)  # too few decisions per half
    assert not any(
        points[p.pk]["flagged"] for p in (data.steady, data.improving, data.unmeasured, data.thin)
    )
    assert escalating_points(period=PERIOD, min_decisions=5)[0]["point_id"] in {
        data.rising.pk,
        data.thin.pk,
    }
    assert escalating_points(period=PERIOD, scope=Scope(journey=data.quiet)) == []


# --- the page --------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("role", [MANAGER, COMPLIANCE_OFFICER])
def test_managers_see_flags_with_their_evidence_for_review(client, data, frozen, role):
    client.force_login(person(role))
    response = client.get(URL)
    assert response.status_code == 200
    (reviewer,) = response.context["reviewers"]
    assert reviewer["person"] == data.stamp
    assert (reviewer["pattern"].decisions, reviewer["agreement"]) == (20, "100.0 %")
    (point,) = response.context["points"]
    assert point["point"] == data.rising
    content = response.content.decode()
    assert "for review, not a verdict" in content
    assert "Sonny Stamp" in content and "Refunds / Rising" in content
    assert "10.0 % → 45.5 %" in content
    # Durations in words, by the dashboard's formatter: 10 s each for the stamp, 105 s overall.
    assert "<td>10 s</td>" in content
    assert "median time of all decisions: 1 min 45 s (the time a reviewer spent" in content


def test_a_reviewer_gets_403(client, data, frozen):
    client.force_login(person(REVIEWER))
    assert client.get(URL).status_code == 403


def test_the_dashboard_links_to_both_pages(client, data, frozen):
    client.force_login(person(MANAGER))
    content = client.get("/admin/oversight/dashboard/").content.decode()
    assert URL in content and "/admin/oversight/calibration/" in content


def test_names_are_escaped(client, data, frozen):
    data.rising.name = "<script>alert(1)</script>"
    data.rising.save()
    client.force_login(person(MANAGER))
    content = client.get(URL).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def more_rows(data, n):
    """n more decided cases with outcomes per half on the steady point; the same reviewers."""
    for when in (EARLY, LATE):
        data.half(data.steady, when, n, 1, [4] * n, [False] * n)


BOUND = (
    19  # fixed for a fixed set of reviewers: on SQLite the bias watch reads medians per reviewer
)


def test_the_query_count_does_not_grow_with_the_rows(
    client, data, frozen, django_assert_max_num_queries
):
    client.force_login(person(MANAGER))
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(BOUND):
        assert client.get(URL).status_code == 200
    more_rows(data, 15)
    with django_assert_max_num_queries(BOUND):
        assert client.get(URL).status_code == 200
