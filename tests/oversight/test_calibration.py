"""Threshold calibration: bands with overrides and audit disagreements, the suggestion, the work it
saves, applying it (a manager's act, a new version) and the calibration page."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.metrics import Period
from oversight.models import CaseStatus, JudgementPoint, RouteReason, TriggerCondition
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER
from oversight.services.calibration import (
    CalibrationBand,
    apply_threshold,
    bands_by_point,
    expected_error,
    suggest,
    workload_saved,
)
from tests.factories import (
    CaseFactory,
    DecisionFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    TriggerConditionFactory,
    UserFactory,
)
from tests.oversight.authority_world import NOW, world

pytestmark = pytest.mark.django_db
URL = "/admin/oversight/calibration/"
LAST_30_DAYS = Period.last_days(30, now=NOW)
WHEN = NOW - datetime.timedelta(days=5)


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def judged(journey, points, confidence, outcome="approve", *, reviewer, level, when=WHEN):
    """One decided case; an override or an audit disagreement as the outcome says."""
    audit = outcome in ("agree", "disagree")
    case = CaseFactory(
        journey=journey,
        required_level=level,
        route_reason=RouteReason.SAMPLE_AUDIT if audit else RouteReason.TRIGGER,
        confidence=confidence,
        status=CaseStatus.DECIDED,
        opened_at=when - datetime.timedelta(hours=1),
        decided_at=when,
    )
    case.judgement_points.set(points)
    override = outcome in ("modify", "reject")
    extra = (
        {"override_reason": OverrideReasonFactory(code="policy"), "rationale": "Policy."}
        if override
        else {}
    )
    DecisionFactory(
        case=case,
        reviewer=reviewer,
        outcome=outcome,
        is_override=override,
        decided_at=when,
        authority_level=level,
        **extra,
    )
    return case


class Calibrated:
    """A refunds point "confidence below 0.7" with a known right answer.

    Bands (cases / changed): 0.3: 2/2 (too few to count), 0.4: 5/3, 0.5: 5/1, 0.6: 7/0
    (one of them also routed by another point), 0.7: 5/0, 0.8: 5/0 (sample audits), 0.9:
    25/1 (sample audits, one disagreement). Target 5 %: 0.6. Target 25 %: 0.5. Target 3 %:
    none (the disagreement at 0.9).
    """

    def __init__(self, w):
        self.point = JudgementPointFactory(
            journey=w.refunds, slug="low-confidence", name="Low confidence", required_level=w.senior
        )
        self.condition = TriggerConditionFactory(
            judgement_point=self.point, signal="confidence", operator="lt", value=0.7
        )
        self.other = JudgementPointFactory(
            journey=w.refunds, slug="big-amount", name="Big amount", required_level=w.senior
        )
        self.sentiment = TriggerConditionFactory(
            judgement_point=self.other, signal="sentiment", operator="lt", value=-0.5
        )
        self.w = w
        add = self.add
        add([self.point], 0.35, ["reject", "modify"])
        add([self.point], 0.45, ["modify", "reject", "modify", "approve", "approve"])
        add([self.point], 0.55, ["modify"] + ["approve"] * 4)
        add([self.point], 0.65, ["approve"] * 6)
        add([self.point, self.other], 0.62, ["approve"])
        add([], 0.75, ["agree"] * 5)
        add([], 0.85, ["agree"] * 5)
        add([], 0.95, ["disagree"] + ["agree"] * 24)
        # Not this point's evidence: another journey, and a case before the period.
        add([], 0.95, ["disagree"] * 5, journey=w.billing)
        add([self.point], 0.65, ["reject"] * 5, when=NOW - datetime.timedelta(days=40))

    def add(self, points, confidence, outcomes, *, journey=None, when=WHEN):
        for outcome in outcomes:
            judged(
                journey or self.w.refunds,
                points,
                confidence,
                outcome,
                reviewer=self.w.rhea,
                level=self.w.senior,
                when=when,
            )


@pytest.fixture
def data(w):
    with time_machine.travel(NOW, tick=False):
        yield Calibrated(w)


def snapshot(data) -> tuple:
    condition = TriggerCondition.objects.get(pk=data.condition.pk)
    point = JudgementPoint.objects.get(pk=data.point.pk)
    return (
        condition.value,
        point.version,
        JudgementPoint.history.filter(id=point.pk).count(),
        TriggerCondition.history.filter(id=condition.pk).count(),
        AuditEvent.objects.count(),
    )


# --- the figures -----------------------------------------------------------------------------


def test_bands_count_the_points_cases_and_its_journeys_sample_audits(data):
    bands = bands_by_point(period=LAST_30_DAYS, points=[data.point])[data.point.pk]
    assert [(b.low, b.cases, b.overridden, b.overrides, b.disagreements) for b in bands] == [
        (0.3, 2, 2, 2, 0),
        (0.4, 5, 3, 3, 0),
        (0.5, 5, 1, 1, 0),
        (0.6, 7, 0, 0, 0),
        (0.7, 5, 0, 0, 0),
        (0.8, 5, 0, 0, 0),
        (0.9, 25, 1, 0, 1),
    ]
    assert isinstance(bands[0], CalibrationBand)


def test_the_suggestion_is_the_known_right_threshold(data):
    bands = bands_by_point(period=LAST_30_DAYS, points=[data.point])[data.point.pk]
    assert suggest(bands, target_rate=0.05) == 0.6
    assert suggest(bands, target_rate=0.25) == 0.5
    assert suggest(bands, target_rate=0.03) is None  # the audit disagreement counts
    assert expected_error(bands, 0.6) == pytest.approx(1 / 42)
    assert expected_error(bands, None) is None


def test_the_work_saved_counts_only_cases_no_other_point_routed(data):
    assert workload_saved(period=LAST_30_DAYS, thresholds={data.condition: 0.6}) == {
        data.point.pk: (19, 6)
    }
    assert workload_saved(period=LAST_30_DAYS, thresholds={data.condition: 0.5}) == {
        data.point.pk: (19, 11)
    }
    assert workload_saved(period=LAST_30_DAYS, thresholds={data.condition: None}) == {}


# --- applying --------------------------------------------------------------------------------


def test_a_manager_applies_the_threshold_as_a_new_version_with_evidence(data):
    before = snapshot(data)
    with time_machine.travel(NOW, tick=False):
        apply_threshold(
            user=data.w.manager,
            condition_or_point=data.point,
            new_threshold=0.6,
            target_rate=0.05,
            note="Bands at 0.6 and above were right 41 times in 42.",
            period=LAST_30_DAYS,
        )
    value, version, point_history, condition_history, events = snapshot(data)
    assert value == 0.6
    assert (version, point_history) == (before[1] + 1, before[2] + 1)
    assert condition_history == before[3] + 1
    assert events == before[4] + 1
    point = JudgementPoint.objects.get(pk=data.point.pk)
    assert point.history.first().history_user == data.w.manager
    assert TriggerCondition.history.filter(id=data.condition.pk).first().history_user == (
        data.w.manager
    )
    event = AuditEvent.objects.get(action="judgement_point.threshold_applied")
    assert event.actor_user == data.w.manager
    assert event.object_id == str(point.pk)
    payload = event.payload
    assert (payload["old_threshold"], payload["new_threshold"]) == (0.7, 0.6)
    assert (payload["target_rate"], payload["suggested"], payload["version"]) == (
        0.05,
        0.6,
        point.version,
    )
    assert payload["note"] == "Bands at 0.6 and above were right 41 times in 42."
    assert payload["evidence"]["bands"][-1] == {
        "low": 0.9,
        "high": 1.0,
        "cases": 25,
        "changed": 1,
        "overrides": 0,
        "disagreements": 1,
    }


@pytest.mark.parametrize("who", ["reviewer", "compliance", "other manager", "nobody"])
def test_only_a_manager_of_the_journey_may_apply_and_nothing_changes(data, who):
    user = {
        "reviewer": lambda: person(REVIEWER),
        "compliance": lambda: person(COMPLIANCE_OFFICER),
        "other manager": lambda: person(MANAGER),  # in the role, but manages nothing here
        "nobody": lambda: None,
    }[who]()
    before = snapshot(data)
    with pytest.raises(NotAllowed, match="Only a manager of .* may change the thresholds"):
        apply_threshold(
            user=user,
            condition_or_point=data.condition,
            new_threshold=0.6,
            target_rate=0.05,
            note="Trying.",
        )
    assert snapshot(data) == before


@pytest.mark.parametrize(
    ("threshold", "target", "note", "message"),
    [
        (0, 0.05, "n", "above 0 and at most 1"),
        (1.5, 0.05, "n", "above 0 and at most 1"),
        (-0.2, 0.05, "n", "above 0 and at most 1"),
        (float("nan"), 0.05, "n", "must be a number"),
        ("0.6", 0.05, "n", "must be a number"),
        (True, 0.05, "n", "must be a number"),
        (None, 0.05, "n", "must be a number"),
        (0.6, 1.0, "n", "target error rate"),
        (0.6, -0.1, "n", "target error rate"),
        (0.6, 0.05, "  ", "note is required"),
        (0.7, 0.05, "n", "already 0.7"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(data, threshold, target, note, message):
    before = snapshot(data)
    with pytest.raises(InvalidInput, match=message):
        apply_threshold(
            user=data.w.manager,
            condition_or_point=data.condition,
            new_threshold=threshold,
            target_rate=target,
            note=note,
        )
    assert snapshot(data) == before


def test_a_condition_that_is_not_a_confidence_threshold_is_refused(data):
    before = snapshot(data)
    with pytest.raises(InvalidInput, match="is not a confidence threshold"):
        apply_threshold(
            user=data.w.manager,
            condition_or_point=data.sentiment,
            new_threshold=0.6,
            target_rate=0.05,
            note="n",
        )
    with pytest.raises(InvalidInput, match="0 confidence threshold conditions"):
        apply_threshold(
            user=data.w.manager,
            condition_or_point=data.other,
            new_threshold=0.6,
            target_rate=0.05,
            note="n",
        )
    assert snapshot(data) == before
    assert TriggerCondition.objects.get(pk=data.sentiment.pk).value == -0.5


# --- the page --------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_page_shows_bands_suggestion_and_saving_and_changes_nothing(client, data, frozen):
    before = snapshot(data)
    client.force_login(data.w.manager)
    response = client.get(URL, {"target": "5"})
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row["point"] == data.point
    assert (row["current"], row["suggestion"]) == ("0.7", 0.6)
    assert (row["routed"], row["no_longer_routed"], row["saved_share"]) == (19, 6, "31.6 %")
    assert row["may_apply"] is True
    content = response.content.decode()
    assert 'role="img"' in content and "Apply threshold 0.6" in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert f"/admin/oversight/judgementpoint/{data.point.pk}/history/" in content
    assert "http" not in content.split('role="img"')[1].split("</svg>")[0]
    # Viewing, by anyone and with any target, never applies anything.
    client.get(URL, {"target": "25"})
    client.force_login(data.w.admin)
    client.get(URL)
    assert snapshot(data) == before


def test_a_point_with_too_few_cases_in_every_band_says_so_instead_of_missing_the_target(
    client, w, frozen
):
    point = JudgementPointFactory(
        journey=w.credit, slug="thin", name="Thin evidence", required_level=w.senior
    )
    TriggerConditionFactory(judgement_point=point, signal="confidence", operator="lt", value=0.7)
    for confidence, outcome in ((0.35, "reject"), (0.45, "approve"), (0.85, "approve")):
        judged(w.credit, [point], confidence, outcome, reviewer=w.rhea, level=w.senior)
    client.force_login(w.admin)

    response = client.get(URL, {"target": "5"})

    (row,) = response.context["rows"]
    assert row["suggestion"] is None
    content = response.content.decode()
    assert (
        "too few cases in every band to suggest a threshold (at least 5 needed per band)" in content
    )
    assert "no threshold keeps every band" not in content


def test_a_target_no_band_meets_still_says_so(client, data, frozen):
    client.force_login(data.w.manager)

    response = client.get(URL, {"target": "3"})

    (row,) = response.context["rows"]
    assert row["suggestion"] is None
    content = response.content.decode()
    assert "no threshold keeps every band with enough cases within 3 %" in content
    assert "too few cases in every band" not in content


def test_a_compliance_officer_sees_the_page_without_the_apply_button(client, data, frozen):
    client.force_login(person(COMPLIANCE_OFFICER))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["rows"][0]["may_apply"] is False
    assert "Apply threshold" not in response.content.decode()


def test_a_reviewer_gets_403(client, data, frozen):
    before = snapshot(data)
    client.force_login(person(REVIEWER))
    assert client.get(URL).status_code == 403
    post = {"condition": str(data.condition.pk), "threshold": "0.6", "note": "x"}
    assert client.post(URL, post).status_code == 403
    assert snapshot(data) == before


def test_apply_from_the_page_needs_a_note_and_then_makes_a_new_version(client, data, frozen):
    client.force_login(data.w.manager)
    post = {"condition": str(data.condition.pk), "threshold": "0.6", "target": "5", "days": "30"}
    before = snapshot(data)
    response = client.post(URL, {**post, "note": ""}, follow=True)
    assert "the note is required" in response.content.decode()
    assert snapshot(data) == before

    response = client.post(URL, {**post, "note": "Calibrated on May."})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?days=30&target=5"
    assert snapshot(data)[:2] == (0.6, before[1] + 1)
    event = AuditEvent.objects.get(action="judgement_point.threshold_applied")
    assert event.payload["note"] == "Calibrated on May."


def test_a_compliance_officer_posting_changes_nothing(client, data, frozen):
    client.force_login(person(COMPLIANCE_OFFICER))
    before = snapshot(data)
    post = {"condition": str(data.condition.pk), "threshold": "0.6", "note": "x"}
    response = client.post(URL, post, follow=True)
    assert "Only a manager of" in response.content.decode()
    assert snapshot(data) == before
    response = client.post(URL, {**post, "condition": "not-a-uuid"}, follow=True)
    assert "does not exist" in response.content.decode()


def more_rows(data, n):
    """n more judged cases per band, and a second point with its own condition and cases."""
    extra = JudgementPointFactory(
        journey=data.w.billing, slug="unsure", name="Unsure", required_level=data.w.senior
    )
    TriggerConditionFactory(judgement_point=extra, signal="confidence", operator="lte", value=0.5)
    for confidence in (0.42, 0.55, 0.66):
        data.add([data.point], confidence, ["approve"] * n)
        data.add([extra], confidence - 0.2, ["modify", "approve"] * n, journey=data.w.billing)


# session, user, permissions (2), conditions, bands (2), work saved, managed (3), and on
# PostgreSQL the figures' settings for their transaction (`analytic_queries`)
BOUND = 12


def test_the_query_count_does_not_grow_with_the_rows(
    client, data, frozen, django_assert_max_num_queries
):
    client.force_login(data.w.manager)
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(BOUND):
        assert len(client.get(URL).context["rows"]) == 1
    more_rows(data, 10)
    with django_assert_max_num_queries(BOUND):
        assert len(client.get(URL).context["rows"]) == 2


def test_a_threshold_applied_at_a_past_moment_dates_its_history_rows(data):
    """The demo's story applies its threshold change weeks back: the new version's history rows
    carry that moment, so gate calls before it were judged by the version before."""
    moment = NOW + datetime.timedelta(days=3)  # after the world was made, before it is applied
    with time_machine.travel(NOW + datetime.timedelta(days=10), tick=False):
        apply_threshold(
            user=data.w.manager,
            condition_or_point=data.point,
            new_threshold=0.6,
            target_rate=0.05,
            note="Dated in the story.",
            period=LAST_30_DAYS,
            at=moment,
        )
    point = JudgementPoint.objects.get(pk=data.point.pk)
    assert point.history.get(version=point.version).history_date == moment
    assert data.condition.history.order_by("-history_date").first().value == 0.6
    assert data.condition.history.filter(history_date=moment).exists()
