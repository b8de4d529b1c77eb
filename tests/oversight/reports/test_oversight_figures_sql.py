"""An independent check: every figure of the oversight report, recomputed with plain SQL.

A varied data set is built with factories (automated, routed and blocked gate calls; sample
audits; four-eyes cases confirmed and disagreeing; overrides confirmed by a second reviewer;
escalations by a reviewer, by a second reviewer, by the SLA sweep and by a four-eyes
disagreement; outcomes of every route; two systems, three journeys, a case on two points; rows
on both sides of the period's edges). Each figure is then counted here with SQL written in this
file (`cursor.execute`, no ORM, nothing from `oversight.metrics`), following the printed
definitions in their own words, and compared with the data the report's template renders
(`oversight.reports.oversight_report.build`). Where the product counts by review round and
stage, this file counts by time or by comparing outcomes: a different road to the same number.

Portable SQL (SQLite and PostgreSQL): no date functions (days are bounded by parameters), no
JSON operators, no percentile aggregate (values are read in order and interpolated here).
Not recomputed here: section 3 (effective authority, being rebuilt in its own change), the
design history of section 2 and the pause events of section 5 (read from the ledger's JSON).
"""

import datetime
import math

import pytest
from django.db import connection

from oversight.models import CaseStatus, GateEvaluation, Route, RouteReason
from oversight.reports.oversight_report import build
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    GuardrailEvaluationFactory,
    GuardrailFactory,
    JourneyFactory,
    JudgementPointFactory,
    OutcomeFactory,
    OverrideReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PARAMS = {"system": "support", "start": "2026-05-01", "end": "2026-05-31"}
START = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
LIVE = ("approve", "modify", "reject", "escalate")


def at(day: int, hour: int = 10, minute: int = 0, month: int = 5) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)


class World:
    """Support bot (journeys Refunds and Billing, points low / four-eyes / billing) and a
    Credit bot whose records must never count. Times are distinct so "first" is unambiguous."""

    def __init__(self):
        self.support = AISystemFactory(slug="support", name="Support bot")
        self.credit = AISystemFactory(slug="credit", name="Credit bot")
        self.refunds = JourneyFactory(ai_system=self.support, slug="refunds", name="Refunds")
        self.billing = JourneyFactory(ai_system=self.support, slug="billing", name="Billing")
        self.limits = JourneyFactory(ai_system=self.credit, slug="limits", name="Limits")
        self.level = AuthorityLevelFactory(name="Reviewer", rank=1, may_override=True)
        self.low = JudgementPointFactory(journey=self.refunds, slug="low", name="Low confidence")
        self.pair = JudgementPointFactory(
            journey=self.refunds, slug="pair", name="Four eyes", four_eyes=True
        )
        self.disputes = JudgementPointFactory(journey=self.billing, slug="disputes", name="Dispute")
        self.credit_point = JudgementPointFactory(journey=self.limits, slug="limit", name="Limit")
        self.reason = OverrideReasonFactory(code="policy")
        self.people = [UserFactory(username=f"r{n}") for n in range(4)]
        self.gate_calls()
        self.cases()
        self.outcomes()
        self.guardrails()

    # --- building blocks ---------------------------------------------------------------------

    def gate(self, journey, route, when, **extra):
        return GateEvaluation.objects.create(
            ai_system=journey.ai_system,
            journey=journey,
            action_type="refund",
            route=route,
            created_at=when,
            **extra,
        )

    def case(self, journey, points, opened, *, decided=None, status=None, **extra):
        made = CaseFactory(
            journey=journey,
            required_level=self.level,
            opened_at=opened,
            sla_deadline=opened + datetime.timedelta(hours=4),
            status=status or (CaseStatus.DECIDED if decided else CaseStatus.OPEN),
            decided_at=decided,
            **extra,
        )
        made.judgement_points.set(points)
        return made

    def decide(self, case, who, outcome, when, *, override=False, round_=1, stage="first"):
        extra = {"override_reason": self.reason, "rationale": "Policy."} if override else {}
        if outcome in ("escalate", "disagree"):
            extra["rationale"] = "Needs a second look."
        if outcome == "modify":
            extra["final_action"] = {"refund": 20}
        return DecisionFactory(
            case=case,
            reviewer=self.people[who],
            outcome=outcome,
            is_override=override,
            decided_at=when,
            review_round=round_,
            stage=stage,
            authority_level=self.level,
            **extra,
        )

    # --- the data ------------------------------------------------------------------------------

    def gate_calls(self):
        r, b = self.refunds, self.billing
        self.gate(r, Route.HUMAN, at(30, 23, 59, month=4))  # before the period
        for day, route in [
            (1, Route.AUTOMATE),
            (1, Route.HUMAN),
            (2, Route.BLOCKED),
            (3, Route.AUTOMATE),
            (3, Route.AUTOMATE),
            (7, Route.HUMAN),
            (7, Route.BLOCKED),
            (12, Route.HUMAN),
        ]:
            self.gate(r, route, at(day))
        self.auto = self.gate(r, Route.AUTOMATE, at(14))
        self.sampled = self.gate(b, Route.AUTOMATE, at(15), sampled=True)
        self.sampled_2 = self.gate(b, Route.AUTOMATE, at(16), sampled=True)
        self.gate(b, Route.BLOCKED, at(16, 12))
        self.gate(b, Route.HUMAN, at(31, 23, 59))  # last minute of the period
        self.gate(r, Route.HUMAN, at(1, 0, month=6))  # the first moment after it
        self.gate(self.limits, Route.HUMAN, at(5))  # another system
        self.gate(self.limits, Route.BLOCKED, at(5, 11))

    def cases(self):
        r, b, low, pair = self.refunds, self.billing, self.low, self.pair
        self.approved = self.case(r, [low], at(1, 9), decided=at(1, 9, 10))
        self.decide(self.approved, 0, "approve", at(1, 9, 10))
        self.modified = self.case(r, [low], at(2, 9), decided=at(2, 9, 40))
        self.decide(self.modified, 0, "modify", at(2, 9, 40), override=True)
        # four eyes, an override confirmed by the second reviewer: one override
        self.confirmed = self.case(r, [pair], at(3, 9), decided=at(3, 12), four_eyes=True)
        self.decide(self.confirmed, 0, "modify", at(3, 10), override=True)
        self.decide(self.confirmed, 1, "modify", at(3, 12), override=True, stage="second")
        # four eyes, the two disagree: the round closes, the case waits a level up
        self.disagreed = self.case(
            r, [pair], at(4, 9), status=CaseStatus.ESCALATED, four_eyes=True, review_round=2
        )
        self.decide(self.disagreed, 0, "approve", at(4, 10))
        self.decide(self.disagreed, 1, "reject", at(4, 11), override=True, stage="second")
        # four eyes, the second reviewer escalates
        self.second_up = self.case(
            r, [pair], at(5, 9), status=CaseStatus.ESCALATED, four_eyes=True, review_round=2
        )
        self.decide(self.second_up, 0, "approve", at(5, 10))
        self.decide(self.second_up, 2, "escalate", at(5, 12), stage="second")
        # a reviewer escalates, a higher reviewer decides in round 2
        self.escalated = self.case(r, [low], at(6, 9), decided=at(6, 15), review_round=2)
        self.decide(self.escalated, 0, "escalate", at(6, 10))
        self.decide(self.escalated, 3, "reject", at(6, 15), override=True, round_=2)
        # SLA missed: escalated by the sweep, still waiting; another decided after its breach
        self.late = self.case(
            r,
            [low],
            at(8, 9),
            status=CaseStatus.ESCALATED,
            sla_breached_at=at(8, 13, 1),
            review_round=2,
        )
        self.late_decided = self.case(
            b,
            [self.disputes],
            at(9, 9),
            decided=at(10, 9),
            sla_breached_at=at(9, 13, 1),
            review_round=2,
        )
        self.decide(self.late_decided, 3, "approve", at(10, 9), round_=2)
        # a case on two points, overridden
        self.both = self.case(r, [low, pair], at(11, 9), decided=at(11, 9, 30))
        self.decide(self.both, 0, "reject", at(11, 9, 30), override=True)
        # across the start: overridden in April, confirmed by a second reviewer on 1 May
        self.edge = self.case(r, [pair], at(30, 20, month=4), decided=at(1, 0, 30), four_eyes=True)
        self.decide(self.edge, 0, "reject", at(30, 21, month=4), override=True)
        self.decide(self.edge, 1, "reject", at(1, 0, 30), override=True, stage="second")
        # SLA breached in April, decided in May
        self.april_breach = self.case(
            b, [], at(29, 9, month=4), decided=at(2, 8), sla_breached_at=at(29, 13, month=4)
        )
        self.decide(self.april_breach, 3, "approve", at(2, 8))
        # sample audits of actions automation had already taken
        audit = {"route_reason": RouteReason.SAMPLE_AUDIT}
        self.audit_ok = self.case(
            b, [], at(15, 10), decided=at(15, 16), evaluation=self.sampled, **audit
        )
        self.decide(self.audit_ok, 2, "agree", at(15, 16))
        self.audit_bad = self.case(
            b, [], at(16, 10), decided=at(17, 9), evaluation=self.sampled_2, **audit
        )
        self.decide(self.audit_bad, 3, "disagree", at(17, 9))
        # opened, not decided; opened after the period; decided after it
        self.waiting = self.case(r, [low], at(20, 9))
        self.case(r, [low], at(1, 1, month=6))
        self.after = self.case(r, [low], at(31, 22), decided=at(1, 0, 5, month=6))
        self.decide(self.after, 0, "modify", at(1, 0, 5, month=6), override=True)
        # another system's overridden and breached cases
        other = self.case(
            self.limits,
            [self.credit_point],
            at(5, 9),
            decided=at(5, 10),
            sla_breached_at=at(5, 9, 30),
        )
        self.decide(other, 0, "reject", at(5, 10), override=True)

    def outcomes(self):
        def outcome(effort, when, **extra):
            extra.setdefault("case", None)
            return OutcomeFactory(customer_effort=effort, reported_at=when, **extra)

        outcome(3, at(20), case=self.approved, repeat_contact=False, complaint=False)
        outcome(6, at(20), case=self.modified, complaint=True, reversed=True)
        outcome(5, at(21), case=self.confirmed, repeat_contact=True)
        outcome(7, at(21), case=self.both, reversed=False, complaint=False)
        outcome(4, at(22), case=self.audit_bad, complaint=True)  # sample audit: automated
        outcome(2, at(22), evaluation=self.auto, repeat_contact=True, reversed=False)
        outcome(5, at(23), evaluation=self.sampled, complaint=False)  # via the audited call
        outcome(None, at(23), case=self.late_decided, reversed=True)
        outcome(1, at(24), case=self.escalated)
        outcome(6, at(30, month=4), case=self.approved)  # before the period
        outcome(2, at(24), case=self.waiting)  # an open case: no route yet
        outcome(7, at(24), case=self.limits_case())  # another system

    def limits_case(self):
        made = self.case(self.limits, [], at(6, 9), decided=at(6, 10))
        self.decide(made, 0, "approve", at(6, 10))
        return made

    def guardrails(self):
        mine = GuardrailFactory(journey=self.refunds)
        theirs = GuardrailFactory(journey=self.limits)
        GuardrailEvaluationFactory(guardrail=mine, evaluated_at=at(7), breached=False)
        GuardrailEvaluationFactory(
            guardrail=mine, evaluated_at=at(8), breached=True, paused_automation=True
        )
        GuardrailEvaluationFactory(guardrail=mine, evaluated_at=at(9), breached=True)
        GuardrailEvaluationFactory(guardrail=mine, evaluated_at=at(30, month=4), breached=True)
        GuardrailEvaluationFactory(guardrail=theirs, evaluated_at=at(9), breached=True)


# --- plain SQL -------------------------------------------------------------------------------


def moment(value) -> str | datetime.datetime:
    """A datetime as the database compares it (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def read_moment(value) -> datetime.datetime:
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def one(sql: str, params=()) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def percentile(values: list[float], fraction: float) -> float | None:
    """Continuous percentile: linear interpolation between the two nearest ordered values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


SYSTEM_JOIN = """
    JOIN oversight_journey j ON j.id = c.journey_id
    JOIN oversight_aisystem s ON s.id = j.ai_system_id
"""


def point_filter(point_slug: str | None) -> tuple[str, list]:
    """SQL restricting case `c` to one judgement point of the system (by slug), or nothing."""
    if point_slug is None:
        return "", []
    return (
        """ AND EXISTS (
            SELECT 1 FROM oversight_case_judgement_points cp
            JOIN oversight_judgementpoint p ON p.id = cp.judgementpoint_id
            WHERE cp.case_id = c.id AND p.slug = %s)""",
        [point_slug],
    )


def sql_gate(start, end) -> dict:
    calls, human, blocked = one(
        """
        SELECT COUNT(*),
               SUM(CASE WHEN e.route = 'human' THEN 1 ELSE 0 END),
               SUM(CASE WHEN e.route = 'blocked' THEN 1 ELSE 0 END)
        FROM oversight_gateevaluation e
        JOIN oversight_aisystem s ON s.id = e.ai_system_id
        WHERE s.slug = 'support' AND e.created_at >= %s AND e.created_at < %s
        """,
        [moment(start), moment(end)],
    )
    return {"gate_calls": calls, "routed_to_humans": human or 0, "blocked": blocked or 0}


def sql_first_decisions(start, end, *, overriding: bool, point: str | None = None) -> int:
    """Cases whose first live decision (overriding: first overriding live decision), by time,
    falls in [start, end)."""
    extra, params = point_filter(point)
    override_sql = " AND d.is_override = %s" if overriding else ""
    override_params = [True] if overriding else []
    (count,) = one(
        f"""
        SELECT COUNT(*) FROM (
            SELECT d.case_id, MIN(d.decided_at) AS first_at
            FROM oversight_decision d
            JOIN oversight_case c ON c.id = d.case_id
            {SYSTEM_JOIN}
            WHERE s.slug = 'support' AND d.outcome IN ('approve', 'modify', 'reject', 'escalate')
              {override_sql} {extra}
            GROUP BY d.case_id
        ) firsts
        WHERE firsts.first_at >= %s AND firsts.first_at < %s
        """,
        [*override_params, *params, moment(start), moment(end)],
    )
    return count


def sql_decisions(start, end, point: str | None = None) -> dict:
    extra, params = point_filter(point)
    live, escalations, audits, disagreements = one(
        f"""
        SELECT SUM(CASE WHEN d.outcome IN ('approve', 'modify', 'reject', 'escalate')
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN d.outcome = 'escalate' THEN 1 ELSE 0 END),
               SUM(CASE WHEN d.outcome IN ('agree', 'disagree') THEN 1 ELSE 0 END),
               SUM(CASE WHEN d.outcome = 'disagree' THEN 1 ELSE 0 END)
        FROM oversight_decision d
        JOIN oversight_case c ON c.id = d.case_id
        {SYSTEM_JOIN}
        WHERE s.slug = 'support' AND d.decided_at >= %s AND d.decided_at < %s {extra}
        """,
        [moment(start), moment(end), *params],
    )
    # A second review that does not repeat the first review's outcome (and is no escalation
    # of its own) is a four-eyes disagreement. (The data set has no two modifications with
    # different final actions, the one case where equal outcomes still disagree.)
    (disagreeing,) = one(
        f"""
        SELECT COUNT(*) FROM oversight_decision d
        JOIN oversight_decision first_review
          ON first_review.case_id = d.case_id AND first_review.review_round = d.review_round
         AND first_review.stage = 'first'
        JOIN oversight_case c ON c.id = d.case_id
        {SYSTEM_JOIN}
        WHERE s.slug = 'support' AND d.stage = 'second' AND d.outcome <> 'escalate'
          AND d.outcome <> first_review.outcome
          AND d.decided_at >= %s AND d.decided_at < %s {extra}
        """,
        [moment(start), moment(end), *params],
    )
    return {
        "live_decisions": live or 0,
        "escalations": escalations or 0,
        "sample_audits": audits or 0,
        "audit_disagreements": disagreements or 0,
        "four_eyes_disagreements": disagreeing,
        "overrides": sql_first_decisions(start, end, overriding=True, point=point),
        "cases_judged": sql_first_decisions(start, end, overriding=False, point=point),
    }


def sql_cases(start, end, point: str | None = None) -> dict:
    extra, params = point_filter(point)
    decided, breached = one(
        f"""
        SELECT SUM(CASE WHEN c.status = 'decided' AND c.decided_at >= %s AND c.decided_at < %s
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN c.sla_breached_at >= %s AND c.sla_breached_at < %s
                        THEN 1 ELSE 0 END)
        FROM oversight_case c
        {SYSTEM_JOIN}
        WHERE s.slug = 'support' {extra}
        """,
        [moment(start), moment(end), moment(start), moment(end), *params],
    )
    return {"cases_decided": decided or 0, "sla_breaches": breached or 0}


def sql_time_to_decision(point: str | None = None) -> dict:
    extra, params = point_filter(point)
    seconds = [
        (read_moment(decided) - read_moment(opened)).total_seconds()
        for opened, decided in rows(
            f"""
            SELECT c.opened_at, c.decided_at FROM oversight_case c
            {SYSTEM_JOIN}
            WHERE s.slug = 'support' AND c.status = 'decided'
              AND c.decided_at >= %s AND c.decided_at < %s {extra}
            """,
            [moment(START), moment(END), *params],
        )
    ]
    return {
        "count": len(seconds),
        "median": percentile(seconds, 0.5),
        "p90": percentile(seconds, 0.9),
    }


OUTCOMES_OF_SUPPORT = """
    FROM oversight_outcome o
    LEFT JOIN oversight_case c ON c.id = o.case_id
    LEFT JOIN oversight_journey j ON j.id = c.journey_id
    LEFT JOIN oversight_aisystem s ON s.id = j.ai_system_id
    LEFT JOIN oversight_gateevaluation e ON e.id = o.evaluation_id
    LEFT JOIN oversight_aisystem es ON es.id = e.ai_system_id
    LEFT JOIN oversight_case ec ON ec.evaluation_id = e.id
    WHERE (s.slug = 'support' OR es.slug = 'support')
      AND o.reported_at >= %s AND o.reported_at < %s
"""


def sql_outcomes() -> dict:
    counted = one(
        f"""
        SELECT COUNT(*),
               SUM(CASE WHEN o.repeat_contact IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.repeat_contact = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.reversed IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.reversed = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.complaint IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.complaint = %s THEN 1 ELSE 0 END)
        {OUTCOMES_OF_SUPPORT}
        """,
        [True, True, True, moment(START), moment(END)],
    )
    names = (
        "outcomes",
        "repeat_contact_answers",
        "repeat_contacts",
        "reversal_answers",
        "reversals",
        "complaint_answers",
        "complaints",
    )
    return dict(zip(names, (value or 0 for value in counted), strict=True))


def sql_effort_by_route() -> dict:
    """Customer effort per route, the route decided by what the case was: a sample audit is
    automation's; a case with an overriding decision is overridden; an automated call is
    automated; a decided case is a person's; anything else has no route yet."""
    found = rows(
        f"""
        SELECT o.customer_effort,
          CASE
            WHEN c.route_reason = 'sample_audit' OR ec.route_reason = 'sample_audit'
              THEN 'automated'
            WHEN EXISTS (SELECT 1 FROM oversight_decision d
                         WHERE d.is_override = %s AND (d.case_id = c.id OR d.case_id = ec.id))
              THEN 'overridden'
            WHEN e.route = 'automate' THEN 'automated'
            WHEN c.status = 'decided' OR ec.status = 'decided' THEN 'human'
          END AS effort_route
        {OUTCOMES_OF_SUPPORT}
          AND o.customer_effort IS NOT NULL
        """,
        [True, moment(START), moment(END)],
    )
    result = {}
    for route in ("automated", "human", "overridden"):
        efforts = [float(effort) for effort, name in found if name == route]
        result[route] = {
            "count": len(efforts),
            "median": percentile(efforts, 0.5),
            "p90": percentile(efforts, 0.9),
        }
    return result


def sql_four_eyes() -> dict:
    second, confirmed = one(
        f"""
        SELECT COUNT(*),
               SUM(CASE WHEN d.outcome <> 'escalate' AND d.outcome = first_review.outcome
                        THEN 1 ELSE 0 END)
        FROM oversight_decision d
        JOIN oversight_decision first_review
          ON first_review.case_id = d.case_id AND first_review.review_round = d.review_round
         AND first_review.stage = 'first'
        JOIN oversight_case c ON c.id = d.case_id
        {SYSTEM_JOIN}
        WHERE s.slug = 'support' AND d.stage = 'second'
          AND d.decided_at >= %s AND d.decided_at < %s
        """,
        [moment(START), moment(END)],
    )
    return {
        "second_reviews": second,
        "confirmed": confirmed or 0,
        "not_confirmed": second - (confirmed or 0),
    }


def sql_figures(start=START, end=END, point: str | None = None) -> dict:
    values = {} if point else sql_gate(start, end)
    values.update(sql_decisions(start, end, point))
    values.update(sql_cases(start, end, point))
    if point is None:
        counted = sql_outcomes()
        for name in ("complaint_answers", "complaints"):
            counted.pop(name)
        values.update(counted)
    return values


def rates(values: dict) -> dict:
    """The rates the printed definitions state, from the SQL counts."""
    return {
        "routed_share": share(values.get("routed_to_humans", 0), values.get("gate_calls", 0)),
        "blocked_share": share(values.get("blocked", 0), values.get("gate_calls", 0)),
        "override_rate": share(values["overrides"], values["cases_judged"]),
        "escalation_rate": share(values["escalations"], values["live_decisions"]),
        "audit_disagreement_rate": share(values["audit_disagreements"], values["sample_audits"]),
        "escalations_all": values["escalations"]
        + values["sla_breaches"]
        + values["four_eyes_disagreements"],
    }


# --- the comparison ---------------------------------------------------------------------------


@pytest.fixture
def report():
    World()
    document = build(PARAMS)
    return document.context


def test_the_data_set_is_varied(report):
    # The check means something only if every kind of record is there to be counted.
    (routes,) = one(
        "SELECT COUNT(DISTINCT route) FROM oversight_gateevaluation e "
        "JOIN oversight_aisystem s ON s.id = e.ai_system_id WHERE s.slug = 'support'"
    )
    (stages,) = one("SELECT COUNT(DISTINCT stage) FROM oversight_decision")
    (outcomes,) = one("SELECT COUNT(DISTINCT outcome) FROM oversight_decision")
    (systems,) = one("SELECT COUNT(*) FROM oversight_aisystem")
    assert (routes, stages, outcomes, systems) == (3, 2, 6, 2)
    totals = report["data"]["activity"]["totals"]
    assert totals["blocked"] and totals["four_eyes_disagreements"] and totals["sla_breaches"]
    assert totals["live_decisions"] > totals["cases_judged"] > totals["overrides"] > 0


def test_every_activity_total_equals_plain_sql(report):
    totals = report["data"]["activity"]["totals"]
    expected = sql_figures()
    expected.update(rates(expected))
    expected["repeat_contact_rate"] = share(
        expected["repeat_contacts"], expected["repeat_contact_answers"]
    )
    expected["reversal_rate"] = share(expected["reversals"], expected["reversal_answers"])
    assert set(totals) == set(expected)  # every figure of the totals is recomputed
    for name, value in expected.items():
        assert totals[name] == pytest.approx(value), name


def test_cases_opened_time_to_decision_and_four_eyes_equal_plain_sql(report):
    activity = report["data"]["activity"]
    (opened,) = one(
        f"SELECT COUNT(*) FROM oversight_case c {SYSTEM_JOIN} "
        "WHERE s.slug = 'support' AND c.opened_at >= %s AND c.opened_at < %s",
        [moment(START), moment(END)],
    )
    assert activity["cases_opened"] == opened
    speed = sql_time_to_decision()
    assert activity["time_to_decision"]["count"] == speed["count"]
    assert activity["time_to_decision"]["median"] == pytest.approx(speed["median"])
    assert activity["time_to_decision"]["p90"] == pytest.approx(speed["p90"])
    assert activity["four_eyes"] == sql_four_eyes()


def test_every_judgement_point_row_equals_plain_sql(report):
    shown = {row["point"]: row for row in report["data"]["activity"]["by_point"]}
    points = rows(
        "SELECT p.slug, p.name FROM oversight_judgementpoint p "
        "JOIN oversight_journey j ON j.id = p.journey_id "
        "JOIN oversight_aisystem s ON s.id = j.ai_system_id WHERE s.slug = 'support'"
    )
    expected_names = set()
    for slug, name in points:
        values = sql_figures(point=slug)
        if not any(values.values()):
            continue
        expected_names.add(name)
        row = shown[name]
        values.update(rates(values))
        values.pop("routed_share"), values.pop("blocked_share")
        for figure, value in values.items():
            assert row["figures"][figure] == pytest.approx(value), (name, figure)
        # what a point cannot split stays zero
        assert row["figures"]["gate_calls"] == row["figures"]["outcomes"] == 0
        speed = sql_time_to_decision(point=slug)
        assert row["time_to_decision"]["count"] == speed["count"], name
        assert row["time_to_decision"]["median"] == pytest.approx(speed["median"]), name
        assert row["time_to_decision"]["p90"] == pytest.approx(speed["p90"]), name
    assert set(shown) == expected_names == {"Low confidence", "Four eyes", "Dispute"}


def test_outcomes_and_effort_by_route_equal_plain_sql(report):
    outcomes = report["data"]["outcomes"]
    counted = sql_outcomes()
    for name, value in counted.items():
        assert outcomes[name] == value, name
    assert outcomes["complaint_rate"] == pytest.approx(
        share(counted["complaints"], counted["complaint_answers"])
    )
    effort = sql_effort_by_route()
    for row in outcomes["effort_by_route"]:
        expected = effort[row["route"]]
        assert row["count"] == expected["count"], row["route"]
        assert row["median"] == pytest.approx(expected["median"]), row["route"]
        assert row["p90"] == pytest.approx(expected["p90"]), row["route"]
    assert effort["automated"]["count"] == 3  # the sample audit's outcomes among them


def test_the_daily_trend_equals_plain_sql(report):
    series = report["data"]["trends"]["series"]
    assert report["data"]["trends"]["bucket"] == "day"
    assert [row["bucket"] for row in series] == [
        (START.date() + datetime.timedelta(days=n)).isoformat() for n in range(31)
    ]
    for row in series:
        first = datetime.datetime.fromisoformat(row["bucket"]).replace(tzinfo=datetime.UTC)
        last = first + datetime.timedelta(days=1)
        gate = sql_gate(first, last)
        decisions = sql_decisions(first, last)
        assert (row["gate_calls"], row["routed"], row["blocked"]) == (
            gate["gate_calls"],
            gate["routed_to_humans"],
            gate["blocked"],
        ), row["bucket"]
        assert (row["live_decisions"], row["cases_judged"], row["overrides"]) == (
            decisions["live_decisions"],
            decisions["cases_judged"],
            decisions["overrides"],
        ), row["bucket"]
        assert row["routed_share"] == share(gate["routed_to_humans"], gate["gate_calls"])
        assert row["override_rate"] == share(decisions["overrides"], decisions["cases_judged"])


def test_overrides_guardrails_and_the_ledger_size_equal_plain_sql(report):
    data = report["data"]
    assert data["overrides"]["total"] == sql_decisions(START, END)["overrides"]
    evaluations, breaches, pauses = one(
        """
        SELECT COUNT(*),
               SUM(CASE WHEN g.breached = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN g.paused_automation = %s THEN 1 ELSE 0 END)
        FROM oversight_guardrailevaluation g
        JOIN oversight_guardrail r ON r.id = g.guardrail_id
        JOIN oversight_journey j ON j.id = r.journey_id
        JOIN oversight_aisystem s ON s.id = j.ai_system_id
        WHERE s.slug = 'support' AND g.evaluated_at >= %s AND g.evaluated_at < %s
        """,
        [True, True, moment(START), moment(END)],
    )
    assert data["stops"]["guardrails"] == {
        "evaluations": evaluations,
        "breaches": breaches,
        "pauses": pauses,
    }
    (events,) = one("SELECT COUNT(*) FROM audit_auditevent")
    assert data["integrity"]["audit_events"] == events


def test_the_printed_headline_is_the_sql_figures_with_their_definitions(report):
    from oversight.metrics.definitions import BY_KEY, percent

    expected = sql_figures()
    expected.update(rates(expected))
    (opened,) = one(
        f"SELECT COUNT(*) FROM oversight_case c {SYSTEM_JOIN} "
        "WHERE s.slug = 'support' AND c.opened_at >= %s AND c.opened_at < %s",
        [moment(START), moment(END)],
    )
    headline = {
        label: (value, definition) for label, value, definition in report["show"]["headline"]
    }
    assert headline == {
        "Gate calls": (expected["gate_calls"], BY_KEY["gate_calls"].definition),
        "Routed to people": (
            percent(expected["routed_share"]),
            BY_KEY["routed_share"].definition,
        ),
        "Blocked": (percent(expected["blocked_share"]), BY_KEY["blocked_share"].definition),
        "Cases opened": (opened, BY_KEY["cases_opened"].definition),
        "Cases decided": (expected["cases_decided"], BY_KEY["cases_decided"].definition),
        "Overrides": (expected["overrides"], BY_KEY["overrides"].definition),
        "Override rate": (
            percent(expected["override_rate"]),
            BY_KEY["override_rate"].definition,
        ),
        "Escalations": (expected["escalations_all"], BY_KEY["escalations_all"].definition),
    }
