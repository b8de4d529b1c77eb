"""The oversight report's "Automation bias watch" (Art. 14(4)(b)): a rubber-stamping reviewer
and a judgement point whose overrides rise while outcomes do not improve are named (issue #15)."""

import datetime
import io

import pypdf
import pytest

from oversight.models import CaseStatus
from oversight.reports.oversight_report import build
from oversight.reports.rendering import render_report
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    JudgementPointFactory,
    OutcomeFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = {"system": "support", "start": "2026-05-01", "end": "2026-05-31"}


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 5, day, 12, tzinfo=datetime.UTC)


@pytest.fixture
def world():
    """Stamp approves 20 cases in 10 s each; Carol takes 200 s and overrides 4 of 20. On the
    Refunds point overrides rise from 0 of 10 (early May) to 6 of 10 (late May) while the
    complaint rate stays 1 in 2."""
    level = AuthorityLevelFactory(name="Reviewer", may_override=True)
    reason = OverrideReasonFactory()
    system = AISystemFactory(slug="support", name="Support bot")
    journey = JourneyFactory(ai_system=system, name="Refunds")
    point = JudgementPointFactory(journey=journey, name="Large refund", required_level=level)
    quiet = JudgementPointFactory(journey=journey, name="Small refund", required_level=level)
    stamp = UserFactory(username="stamp", first_name="Sam", last_name="Stamp")
    carol = UserFactory(username="carol")

    def decide(reviewer, day, *, override=False, seconds=60, on=quiet, complaint=None):
        case = CaseFactory(
            journey=journey,
            required_level=level,
            status=CaseStatus.DECIDED,
            opened_at=at(day) - datetime.timedelta(hours=1),
            decided_at=at(day),
        )
        case.judgement_points.add(on)
        extra = {"override_reason": reason, "rationale": "Policy."} if override else {}
        DecisionFactory(
            case=case,
            reviewer=reviewer,
            outcome="modify" if override else "approve",
            is_override=override,
            decided_at=at(day),
            time_spent_seconds=seconds,
            authority_level=level,
            **extra,
        )
        if complaint is not None:
            OutcomeFactory(case=case, complaint=complaint, reported_at=at(day))

    for n in range(20):
        decide(stamp, 2 + n % 10, seconds=10)
        decide(carol, 2 + n % 10, seconds=200, override=n < 4)
    for n in range(10):
        decide(carol, 3, on=point, seconds=200, complaint=n % 2 == 0)
        decide(carol, 25, on=point, seconds=200, override=n < 6, complaint=n % 2 == 0)
    return system


def test_the_watch_names_the_rubber_stamp_and_the_escalating_point(world):
    bias = build(MAY).data["bias"]

    assert [(r["reviewer"], r["decisions"], r["agreed"]) for r in bias["rubber_stamping"]] == [
        ("Sam Stamp (stamp)", 20, 20)
    ]
    (point,) = bias["escalating_points"]
    assert point["point"] == "Refunds / Large refund"
    assert (point["first_override_rate"], point["second_override_rate"]) == (0.0, 0.6)
    assert point["first_bad_outcome_rate"] == point["second_bad_outcome_rate"] == 0.5


def test_the_pdf_prints_the_section_with_its_rules(world):
    pdf = render_report(
        "oversight",
        MAY,
        report_id="b1a5b1a5-0000-4000-8000-000000000014",
        generated_at=datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC),
    ).pdf

    text = " ".join(
        " ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )
    assert "10. Automation bias watch" in text
    # Rates as in every other section (one decimal, a space before the sign; issue #15).
    assert "Sam Stamp (stamp) 20 20 (100.0 %) 0.2 min" in text
    assert "Refunds / Large refund 0.0 % → 60.0 % 10 / 10 50.0 % → 50.0 %" in text
    assert "agreeing with the AI's proposal on at least 95.0 % of them" in text
    assert "at most 25.0 % of the median" in text


def test_without_flags_the_section_says_so():
    AISystemFactory(slug="support", name="Support bot")

    bias = build(MAY).data["bias"]

    assert bias["rubber_stamping"] == [] and bias["escalating_points"] == []
    assert bias["reviewers_considered"] == bias["points_considered"] == 0
