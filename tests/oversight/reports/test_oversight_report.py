"""The human oversight report on a small hand-built data set, every figure against its exact
value worked out by hand, read back from the PDF's text."""

import datetime
import io
import re

import pytest
import time_machine
from pypdf import PdfReader

from audit.models import AuditEvent
from oversight.metrics import Period, Scope, figures
from oversight.models import CaseStatus, GateEvaluation, Route
from oversight.models.reports import IssuedReport, ReportRequest
from oversight.reports.oversight_report import build
from oversight.reports.rendering import ReportParameterError, render_report
from oversight.services.automation import pause_journey, resume_journey
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    JudgementPointFactory,
    OutcomeFactory,
    OverrideReasonFactory,
    SuperUserFactory,
    TrainingCompletionFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    TriggerConditionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = {"system": "support", "start": "2026-05-01", "end": "2026-05-31"}
GENERATED = datetime.datetime(2026, 6, 2, 9, 0, tzinfo=datetime.UTC)
RATIONALE = "Customer <b>already</b> refunded by phone & e-mail"


def at(day: int, hour: int = 10, minute: int = 0, month: int = 5) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)


class World:
    """One AI system, one journey, two judgement points, two reviewers, May 2026.

    Gate calls in May: 3 routed to a person, 3 automated (and one in April). Cases decided in
    May: c1 approve (10 min), c2 modify = override (30 min), c3 escalated by r1 then rejected
    by r2 = override (60 min). Live decisions 4, overrides 2, escalations 1. One stop: paused
    at 09:00 on 20 May, resumed at 11:30 (2.5 h). The SLA of "Low confidence" changed on 15 May.
    """

    def __init__(self):
        with time_machine.travel(at(1, month=4), tick=False):
            self.owner = UserFactory(username="owner", first_name="Olga", last_name="Owner")
            self.boss = SuperUserFactory(username="boss")
            self.system = AISystemFactory(
                slug="support", name="Support bot", provider="Acme AI", owner=self.owner
            )
            self.journey = JourneyFactory(ai_system=self.system, slug="refunds", name="Refunds")
            self.reviewer = AuthorityLevelFactory(name="Reviewer", rank=1, may_override=True)
            self.senior = AuthorityLevelFactory(name="Senior", rank=2, may_override=True)
            self.p1 = JudgementPointFactory(
                journey=self.journey,
                slug="low",
                name="Low confidence",
                required_level=self.reviewer,
            )
            TriggerConditionFactory(judgement_point=self.p1, signal="confidence", value=0.7)
            self.p2 = JudgementPointFactory(
                journey=self.journey,
                slug="irreversible",
                name="Irreversible action",
                required_level=self.senior,
                four_eyes=True,
            )
            self.module = TrainingModuleVersionFactory(
                module__title="Overriding well", published_on=datetime.date(2026, 1, 1)
            ).module
            TrainingRequirementFactory(module=self.module, authority_level=self.reviewer)
            self.r1 = UserFactory(username="r1")
            self.r2 = UserFactory(username="r2")
            TrainingCompletionFactory(
                user=self.r1,
                module_version=self.module.versions.get(),
                completed_on=datetime.date(2026, 3, 1),
            )
            self.g1 = AuthorityGrantFactory(
                user=self.r1,
                level=self.reviewer,
                journey=self.journey,
                granted_by=self.boss,
                valid_from=at(1, month=4),
            )
            self.g2 = AuthorityGrantFactory(
                user=self.r2,
                level=self.senior,
                journey=None,
                ai_system=self.system,
                granted_by=self.boss,
                valid_from=at(1, month=4),
            )
            self.reason = OverrideReasonFactory(code="policy", label="Policy exception")
        with time_machine.travel(at(15), tick=False):
            self.p1.sla_minutes = 120
            self.p1.version = 2
            self.p1._history_user = self.boss
            self.p1.save()
        with time_machine.travel(at(20, 9), tick=False):
            pause_journey(journey=self.journey, by=self.boss, reason="Refund errors reported")
        with time_machine.travel(at(20, 11, 30), tick=False):
            resume_journey(journey=self.journey, by=self.boss, note="Fixed upstream")

        self.evaluations = [
            self.gate(Route.HUMAN, at(10)),
            self.gate(Route.HUMAN, at(11)),
            self.gate(Route.HUMAN, at(12)),
            self.gate(Route.AUTOMATE, at(13)),
            self.gate(Route.AUTOMATE, at(13, 11)),
            self.gate(Route.AUTOMATE, at(14)),
        ]
        self.gate(Route.HUMAN, at(30, month=4))  # before the period
        self.c1 = self.case([self.p1], at(10), at(10, 10, 10))
        self.decide(self.c1, self.r1, self.g1, "approve", at(10, 10, 10))
        self.c2 = self.case([self.p1], at(11), at(11, 10, 30))
        self.decide(self.c2, self.r1, self.g1, "modify", at(11, 10, 30), override=True)
        self.c3 = self.case([self.p2], at(12), at(12, 11), review_round=2)
        self.decide(self.c3, self.r1, self.g1, "escalate", at(12, 10, 20))
        self.decide(self.c3, self.r2, self.g2, "reject", at(12, 11), override=True, round_=2)
        OutcomeFactory(case=self.c1, customer_effort=3, reported_at=at(25))
        OutcomeFactory(case=self.c2, customer_effort=6, complaint=True, reported_at=at(25))
        OutcomeFactory(
            case=None, evaluation=self.evaluations[3], customer_effort=2, reported_at=at(25)
        )

    def gate(self, route, when):
        return GateEvaluation.objects.create(
            ai_system=self.system,
            journey=self.journey,
            action_type="refund",
            route=route,
            created_at=when,
        )

    def case(self, points, opened, decided, **extra):
        made = CaseFactory(
            journey=self.journey,
            required_level=self.reviewer,
            opened_at=opened,
            sla_deadline=opened + datetime.timedelta(hours=4),
            status=CaseStatus.DECIDED if decided else CaseStatus.OPEN,
            decided_at=decided,
            **extra,
        )
        made.judgement_points.set(points)
        return made

    def decide(self, case, reviewer, grant, outcome, when, *, override=False, round_=1):
        extra = {"override_reason": self.reason, "rationale": RATIONALE} if override else {}
        return DecisionFactory(
            case=case,
            reviewer=reviewer,
            grant=grant,
            authority_level=grant.level,
            outcome=outcome,
            is_override=override,
            decided_at=when,
            review_round=round_,
            **extra,
        )


@pytest.fixture
def world():
    return World()


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = re.sub(r"\s+", " ", text)  # table cells wrap where the layout needs
    # A line may break after a hyphen ("four-" / "eyes"): read it back joined.
    return re.sub(r"(\w)- (\w)", r"\1-\2", text)


def render(params=MAY):
    return render_report("oversight", params, report_id="R-42", generated_at=GENERATED)


def test_the_report_shows_the_exact_figures_of_the_period(world):
    rendered = render()
    text = pdf_text(rendered.pdf)
    for expected in [
        "Support bot",
        "Acme AI",
        "Olga Owner (owner)",
        "Gate calls 6",
        "Routed to people 3 (50.0 %)",
        "Blocked 0 (0.0 %)",
        "Cases decided 3",
        "Cases judged 3",
        "Live decisions 4",
        "Overrides 2",
        # overrides once per case / cases judged (c3's escalation and decision: one case)
        "Override rate 66.7 %",
        "Escalations 1 (1 by a reviewer, 0 for a missed SLA, 0 four-eyes disagreements)",
        "Escalations by a reviewer 1",
        "Escalations for a missed SLA 0",
        "Escalations for four-eyes disagreement 0",
        "Escalation rate 25.0 %",
        "Time to decision, median 30.0 min",
        "Time to decision, p90 54.0 min",
        "Decisions without effective authority or current training at decision time: 0",
        "Refund errors reported",
        "Fixed upstream",
        "2.5 h",
        "SLA (min): 240 → 120",
        "Complaints 1 of 1 (100.0 %)",
        "Audit events held 2",
        rendered.data_sha256,
    ]:
        assert expected in text, expected
    # the rationale is printed as written: escaped text, never markup
    assert "Customer <b>already</b> refunded by phone & e-mail" in text
    # the pause and resumption are stop-button events, not design changes
    assert text.count("automation state") == 0


def test_the_data_holds_every_figure_the_report_computed(world):
    data = build(MAY).data
    assert data["activity"]["cases_opened"] == 3
    assert data["activity"]["time_to_decision"] == {"count": 3, "median": 1800.0, "p90": 3240.0}
    assert [r["median"] for r in data["outcomes"]["effort_by_route"]] == [2.0, 3.0, 6.0]
    assert data["people"]["without_authority_total"] == 0
    assert [(g["person"], g["level"]) for g in data["people"]["grants"]] == [
        ("r2", "Senior"),
        ("r1", "Reviewer"),
    ]
    assert [g["training"] for g in data["people"]["grants"]] == ["none required", "current"]
    assert data["design"]["changes_total"] == 1
    assert data["design"]["changes"][0]["by"] == "boss"
    assert [(v["point"], v["version"]) for v in data["system"]["rule_versions"]] == [
        ("Irreversible action", 1),
        ("Low confidence", 1),
        ("Low confidence", 2),
    ]
    stops = data["stops"]["events"]
    assert [(e["action"], e["by"], e["paused_for_seconds"]) for e in stops] == [
        ("Paused", "boss", None),
        ("Resumed", "boss", 9000.0),
    ]
    assert data["overrides"]["shown"] == 2
    routed = {row["bucket"]: row["routed_share"] for row in data["trends"]["series"]}
    assert (routed["2026-05-10"], routed["2026-05-13"], routed["2026-05-01"]) == (1.0, 0.0, None)


def test_the_activity_figures_are_the_dashboards(world):
    data = build(MAY).data
    may = Period(start=at(1, 0), end=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC))
    assert (
        data["activity"]["totals"]
        == figures(period=may, scope=Scope(ai_system=world.system)).as_dict()
    )


def test_a_decision_without_authority_is_listed(world):
    outsider = UserFactory(username="outsider")
    case = world.case([world.p1], at(21), at(21, 11))
    DecisionFactory(
        case=case,
        reviewer=outsider,
        grant=world.g1,
        authority_level=world.reviewer,
        decided_at=at(21, 11),
    )
    untrained = UserFactory(username="untrained")
    with time_machine.travel(at(1, month=4), tick=False):
        grant = AuthorityGrantFactory(
            user=untrained, level=world.reviewer, journey=world.journey, valid_from=at(1, month=4)
        )
    late = UserFactory(username="late")
    grant_later = AuthorityGrantFactory(  # recorded today (after the decision), backdated
        user=late, level=world.senior, journey=world.journey, valid_from=at(1, month=4)
    )
    case = world.case([world.p2], at(23), at(23, 11))
    DecisionFactory(
        case=case,
        reviewer=late,
        grant=grant_later,
        authority_level=world.senior,
        decided_at=at(23, 11),
    )
    case = world.case([world.p1], at(22), at(22, 11))
    DecisionFactory(
        case=case,
        reviewer=untrained,
        grant=grant,
        authority_level=world.reviewer,
        decided_at=at(22, 11),
    )
    people = build(MAY).data["people"]
    assert people["without_authority_total"] == 3
    assert [(d["reviewer"], d["reasons"]) for d in people["without_authority"]] == [
        ("outsider", ["grant of another person", "required training not current"]),
        ("untrained", ["required training not current"]),
        ("late", ["grant not in force"]),
    ]
    text = pdf_text(render().pdf)
    assert "at decision time: 3" in text
    assert "late " in text and "grant not in force" in text


def test_an_empty_period_says_so(world):
    rendered = render({"system": "support", "start": "2026-07-01", "end": "2026-07-31"})
    text = pdf_text(rendered.pdf)
    assert "No gate calls or cases in this period." in text
    assert "Gate calls 6" not in text
    assert "No overrides in this period." in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**MAY, "system": "nope"}, "There is no AI system 'nope'."),
        ({**MAY, "end": "2026-04-30"}, "The end date 2026-04-30 is before the start date"),
        ({**MAY, "start": "2026-13-01"}, "2026-13-01"),
        ({**MAY, "end": "31/05/2026"}, "31/05/2026"),
        ({**MAY, "start": None}, "The start date is required"),
        ({"start": "2026-05-01", "end": "2026-05-31"}, "Choose the AI system"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_created(world, params, message):
    counts = (
        AuditEvent.objects.count(),
        ReportRequest.objects.count(),
        IssuedReport.objects.count(),
    )
    with pytest.raises(ReportParameterError, match=re.escape(message)):
        render(params)
    with pytest.raises(ReportParameterError):
        build(params)
    assert counts == (
        AuditEvent.objects.count(),
        ReportRequest.objects.count(),
        IssuedReport.objects.count(),
    )


QUERY_BOUND = 73  # 69 on SQLite with two judgement points (7 of them the authority record, read
# once for all decisions); +3 per point (percentiles)
# Section 5: +2, and one per journey a guardrail paused. The automation bias watch: +6, and on
# SQLite one per reviewer (their median time) and per flagged reviewer (their peers' median).
QUERY_BOUND += 2 + 6 + 2
# Decided cases: their summaries' reach, and the cases breached in the period on their own.
QUERY_BOUND += 2


def test_building_takes_a_bounded_number_of_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BOUND):
        build(MAY)
    for day in range(2, 28):
        evaluation = world.gate(Route.HUMAN, at(day, 8))
        case = world.case([world.p1, world.p2], at(day, 8), at(day, 9), evaluation=evaluation)
        world.decide(case, world.r1, world.g1, "modify", at(day, 9), override=True)
        OutcomeFactory(case=case, customer_effort=4, repeat_contact=True, reported_at=at(day, 12))
        AuthorityGrantFactory(
            user=UserFactory(), level=world.reviewer, journey=world.journey, valid_from=at(day)
        )
    with django_assert_max_num_queries(QUERY_BOUND):
        data = build(MAY).data
    assert data["activity"]["totals"]["overrides"] == 2 + 26
    assert data["overrides"]["shown"] == 20


def test_a_dated_pause_shows_when_it_took_effect_not_when_it_was_recorded(world):
    """A pause told after the fact (the demo's story) is recorded in the ledger today; the
    report shows the moments its events carry and the duration between them."""
    with time_machine.travel(at(28, 9), tick=False):
        pause_journey(journey=world.journey, by=world.boss, reason="Spike", at=at(25, 15))
        resume_journey(journey=world.journey, by=world.boss, note="Calm", at=at(26, 10))

    stops = build(MAY).data["stops"]["events"]

    assert [(e["action"], e["paused_for_seconds"]) for e in stops[-2:]] == [
        ("Paused", None),
        ("Resumed", 19 * 3600.0),
    ]
    assert [e["at"][:16] for e in stops[-2:]] == ["2026-05-25 15:00", "2026-05-26 10:00"]
