"""The 90 days behind the featured cases: gate calls, cases, decisions and outcomes, from tables.

What happens, day by day, is drawn from a `random.Random` with a fixed seed, at dates counted
back from the day of seeding, so two databases seeded on the same day hold the same story:

- Gate calls every day, more on weekdays and in office hours (`DAILY_CALLS`, `HOURS`), with
  signals drawn per journey (`SIGNALS`) and judged by the judgement points' own conditions, as
  the version in force at the call's moment reads them. The automated ones go in with one
  `bulk_create` (gate evaluations are insert-only and carry no history).
- Every routed or sampled call opens a case at the call's moment; a reviewer who held the
  grant and the training at that moment decides it after a realistic delay (`DELAY`), late
  enough now and then to breach the SLA. Cases and decisions are saved one by one with their
  history rows dated in the story, and each appends its ledger event.
- `PAUSE`, `CLUSTER_DAYS`: an update of the assistant counted refund return windows from the
  order date, so people overrode its low-confidence refund declines again and again. The
  override-rate guardrail on refunds (`GUARDRAILS`) paused the journey seven weeks back; the
  manager raised the point's confidence threshold (`apply_threshold`, a new version of the
  point) and resumed automation the next morning. Overrides fall back afterwards.
- The senior reviewer's data-protection training lapsed and was renewed (`training`): nobody
  decides without the grant and the training in force at that moment. The reviewer approves
  within a minute, every time (`TIME_SPENT`): the oversight watch flags her.
- Outcomes (effort, repeat contact, complaint, reversal) on a share of cases and automated calls,
  reported days later, worse where the assistant was wrong.

Ledger events keep the moment of seeding (the hash chain is append-only and its times are the
chain's own); the records and their history rows carry the story's dates. GateDay summaries are
computed for the back-dated days at the end, so the dashboard's trends show them.
"""

import datetime
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from audit.services.ledger import Actor, append_event
from oversight.demo.records import demo_id, save_dated
from oversight.metrics import Period
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateEvaluation,
    Guardrail,
    GuardrailEvaluation,
    GuardrailKind,
    Outcome,
    Priority,
    Route,
    RouteReason,
)
from oversight.services.automation import pause_journey, resume_journey
from oversight.services.calibration import apply_threshold
from oversight.services.gate import GateRequest, ProposedAction, server_signals
from oversight.services.guardrails import describe_breach, measure, save_guardrail
from oversight.services.rollups import recompute_gate_days, roll_up_gate_days
from oversight.services.triggers import evaluate_trigger

SEED = 16  # issue 16: the demo worth looking at
STORY_DAYS = 89  # calls on today and the 89 days before; grants date from 90 days ago
CURRENCY = "GBP"
MARKER = "story:marker"  # the first case of the story: when it exists, the story is told

# Mean gate calls per journey on (a weekday, a weekend day).
DAILY_CALLS = {
    "refunds": (16, 6),
    "billing-disputes": (9, 4),
    "identity-verification": (7, 3),
}
# Hours of the day (UTC) the assistant is busy, with their weights.
HOURS = ((7, 1), (8, 3), (9, 5), (10, 6), (11, 6), (12, 5), (13, 5), (14, 6), (15, 6), (16, 5),
         (17, 4), (18, 3), (19, 2), (20, 2), (21, 1))  # fmt: skip

# Per journey: actions the assistant proposes, (action type, weight, amount range or None,
# irreversible, reply).
ACTIONS = {
    "refunds": (
        ("refund", 50, (9, 260), False, "Sorry about that: we've refunded the amount below."),
        ("decline_refund", 20, (15, 400), False, "Unfortunately this order is outside our "
         "30-day return window, so we can't offer a refund."),
        ("refund_delivery_fee", 20, (4, 8), False, "Sorry the parcel was late: your delivery "
         "fee is refunded."),
        ("refund", 3, (520, 1400), False, "We have refunded the damaged items in full."),
        ("bank_transfer_refund", 2, (60, 600), True, "We'll send the refund to your bank "
         "account within 2 working days."),
    ),
    "billing-disputes": (
        ("credit", 45, (5, 90), False, "You're right: we've credited the charge on your next "
         "invoice."),
        ("explain_charge", 55, (3, 40), False, "This line is your device plan for the month."),
    ),
    "identity-verification": (
        ("change_address", 40, None, False, "Your address is updated."),
        ("change_email", 30, None, False, "Your e-mail address is updated."),
        ("request_second_document", 30, None, False, "Could you upload a recent bill?"),
    ),
}  # fmt: skip

CONTEXT = {
    "refunds": lambda n, rng: {
        "order_id": f"LH-2026-{100000 + n}",
        "customer_tier": rng.choice(("standard", "standard", "plus", "business")),
        "channel": rng.choice(("chat", "chat", "email")),
    },
    "billing-disputes": lambda n, rng: {
        "account_id": f"ACC-{400000 + n}",
        "invoice_number": f"INV-2026-{80000 + n}",
        "customer_tier": rng.choice(("standard", "standard", "plus")),
        "channel": rng.choice(("chat", "email")),
    },
    "identity-verification": lambda n, rng: {
        "account_id": f"ACC-{200000 + n}",
        "verification_channel": rng.choice(("chat", "phone")),
    },
}

# Per journey: the assistant's confidence, a beta distribution (alpha, beta): mostly sure of
# itself, with a tail of doubtful answers. Sentiment: triangular (low, high, mode).
CONFIDENCE = {
    "refunds": (12, 1.6),
    "billing-disputes": (11, 1.5),
    "identity-verification": (12, 1.4),
}
SENTIMENT = (-0.8, 0.7, 0.35)
POLICY_TERMS = ("chargeback", "legal action", "ombudsman", "cancel contract")

# The story's moments, in days before today, with the hour (UTC) where it matters.
# The override-rate guardrail paused refunds on a Tuesday afternoon seven weeks back (a working
# day whatever the day of seeding); the faulty update had been live for CLUSTER_DAYS before.
PAUSE = {"weeks_ago": 7, "weekday": 1, "hour": 15}
CLUSTER_DAYS = 11
# Share of the faulty update's refund answers that were declines on top of the usual ones.
CLUSTER_EXTRA_DECLINES = 0.25
# The next morning the manager raised low-confidence refunds from 0.6 to this, then resumed.
THRESHOLD = {"hour": 9, "value": 0.75}
RESUME = {"hour": 10}
OVERRIDDEN_POINT = ("refunds", "low-confidence")

GUARDRAILS = (
    # journey, kind, threshold, window, min sample
    ("refunds", GuardrailKind.OVERRIDE_RATE_MAX, "0.25", 20, 10),
    ("billing-disputes", GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "5", 50, 10),
    ("identity-verification", GuardrailKind.SAMPLE_AUDIT_DISAGREEMENT_MAX, "0.4", 30, 10),
)

# Share of cases a person overrides: usually, in the cluster (the overridden point only),
# and after the fix.
OVERRIDE_SHARE = {"usual": 0.1, "cluster": 0.75, "after": 0.06}
AUDIT_DISAGREE_SHARE = {"usual": 0.06, "cluster": 0.35}
# Minutes from opening to decision: log-normal with this median and spread, per priority.
DELAY = {Priority.URGENT: (25, 0.7), Priority.HIGH: (35, 0.8), Priority.NORMAL: (80, 0.9),
         Priority.LOW: (420, 0.8)}  # fmt: skip
OUTCOME_SHARE = {"case": 0.45, "automated": 0.15}

# Who decides what: (username, grant key) by required level, in the order tried. A grant's
# dates and its holder's training decide whether they may at a given moment.
DECIDERS = {
    "Reviewer": (("reviewer", "reviewer-refunds"), ("reviewer", "reviewer-billing"),
                 ("senior", "senior-system"), ("lead", "lead-system")),
    "Senior reviewer": (("senior", "senior-system"), ("lead", "lead-system")),
    "Team lead": (("lead", "lead-system"), ("senior", "senior-identity"),
                  ("manager", "manager-system")),
}  # fmt: skip
# Weights of the deciders above (the reviewer works the queues, the manager rarely steps in).
WEIGHTS = {"reviewer": 10, "senior": 4, "lead": 3, "manager": 1}

# Seconds spent on a decision (low, high). The reviewer approves within a minute or so, every
# time: the oversight watch flags her as possibly rubber-stamping, a conversation to have.
TIME_SPENT = {"reviewer": (20, 80), None: (90, 900)}
ALWAYS_AGREES = {"reviewer"}

RATIONALES = {
    DecisionOutcome.APPROVE: (
        "Checked the order history: the proposal is right.",
        "Within policy; the reply is clear.",
        "Matches the account and the invoice; fine to send.",
    ),
    DecisionOutcome.MODIFY: (
        "The return window counts from delivery, not the order date: refunded in full.",
        "The customer had already returned the item; changed to a full refund.",
        "Softened the reply: the customer wrote three times and deserved a personal answer.",
    ),
    DecisionOutcome.REJECT: (
        "Signals of account takeover: declined and referred to the fraud team.",
        "A repeat claim on the same order: declined with an explanation.",
    ),
    DecisionOutcome.AGREE: ("Automation did the right thing.",),
    DecisionOutcome.DISAGREE: (
        "The customer was inside the return window: the automatic decline was wrong.",
        "The charge was already credited last month: this credit pays twice.",
    ),
    DecisionOutcome.ESCALATE: ("Above my monetary limit: needs a team lead.",),
}
OVERRIDE_REASON = {
    "refunds": "customer-context-missed",
    "billing-disputes": "ai-factual-error",
    "identity-verification": "fraud-suspected",
}


@dataclass
class _Call:
    n: int
    journey: str
    at: datetime.datetime
    request: GateRequest
    signals: dict
    added: dict
    matches: list  # (point, fired conditions)
    paused: bool = False
    sampled: bool = False


def story_exists() -> bool:
    return Case.objects.filter(id=demo_id(MARKER)).exists()


def tell_the_story(run) -> None:
    """Seed the 90 days, unless they are there already (then count what is found).

    The story changes configuration (a point's threshold, the journey's pause), so it is told
    only with configuration created in the same run: a database seeded before the story
    existed keeps its records as they are (seed a fresh database to see the story).
    """
    if story_exists():
        run.result.count("story (90 days)", created=False)
        return
    points = run.result.tallies.get("judgement points")
    if points is None or not points.created:
        return
    story = _Story(run)
    story.tell()


def summarise_gate_days(run) -> None:
    """GateDay summaries for the back-dated days (and any later ones not summarised yet), so the
    dashboard's trends read them; run once every call of the seeding is written."""
    recompute_gate_days(run.today - datetime.timedelta(days=STORY_DAYS + 1), run.today)
    roll_up_gate_days(now=run.now)


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


class _Story:
    def __init__(self, run):
        self.run = run
        self.rng = random.Random(SEED)
        monday = run.today - datetime.timedelta(days=run.today.weekday())
        pause_day = monday - datetime.timedelta(weeks=PAUSE["weeks_ago"], days=-PAUSE["weekday"])
        next_day = pause_day + datetime.timedelta(days=1)
        self.pause_at = _at(pause_day, PAUSE["hour"])
        self.threshold_at = _at(next_day, THRESHOLD["hour"])
        self.resume_at = _at(next_day, RESUME["hour"])
        # the faulty update was live until the vendor's fix, the morning of the resume
        self.cluster = (_at(pause_day - datetime.timedelta(days=CLUSTER_DAYS), 0), self.resume_at)
        self.cases = 0
        self.decisions = 0
        self.outcomes = 0

    # The rules as they stood: v1 of the overridden point until the threshold changed.
    def _rules(self, journey: str, at: datetime.datetime) -> list:
        cache = self.__dict__.setdefault("_points", {})
        if journey not in cache:
            points = self.run.journeys[journey].judgement_points.filter(is_active=True)
            cache[journey] = list(points.order_by("slug").prefetch_related("conditions"))
        rules = []
        for point in cache[journey]:
            conditions = [(c.signal, c.operator, c.value) for c in point.conditions.all()]
            version = point.version
            # told before the change is applied: the point still stands at its first version
            if (journey, point.slug) == OVERRIDDEN_POINT and at >= self.threshold_at:
                version = point.version + 1
                conditions = [
                    (s, o, THRESHOLD["value"] if s == "confidence" else v) for s, o, v in conditions
                ]
            rules.append((point, version, conditions))
        return rules

    def tell(self) -> None:
        run = self.run
        self._guardrails()
        calls = self._calls()
        evaluations = self._evaluations(calls)
        for call in calls:
            if call.matches or call.paused or call.sampled:
                self._case(call, evaluations[call.n])
        self._automated_outcomes(calls, evaluations)
        self._pause_and_resume()
        run.result.count("gate evaluations", created=True, number=len(calls))
        run.result.count("cases", created=True, number=self.cases)
        run.result.count("decisions", created=True, number=self.decisions)
        run.result.count("outcomes", created=True, number=self.outcomes)

    # Configuration the story needs ----------------------------------------------------------

    def _guardrails(self) -> None:
        manager = self.run.users["manager"]
        self.guardrails = {}
        for journey, kind, threshold, window, min_sample in GUARDRAILS:
            guardrail = Guardrail(
                journey=self.run.journeys[journey],
                kind=kind,
                threshold=Decimal(threshold),
                window=window,
                min_sample=min_sample,
            )
            guardrail._history_date = self.run.set_up_at
            self.guardrails[journey] = save_guardrail(guardrail=guardrail, by=manager)
            self.run.result.count("guardrails", created=True)

    # Gate calls -------------------------------------------------------------------------------

    def _calls(self) -> list[_Call]:
        rng, calls = self.rng, []
        # today too, up to an hour ago: the current week's figures are not the featured cases'
        # alone
        until = self.run.now - datetime.timedelta(hours=1)
        for days_ago in range(STORY_DAYS, -1, -1):
            day = self.run.today - datetime.timedelta(days=days_ago)
            weekend = day.weekday() >= 5
            for journey, (weekday_mean, weekend_mean) in DAILY_CALLS.items():
                mean = weekend_mean if weekend else weekday_mean
                count = max(0, round(rng.gauss(mean, math.sqrt(mean))))
                for _ in range(count):
                    hour = rng.choices([h for h, _ in HOURS], [w for _, w in HOURS])[0]
                    at = datetime.datetime.combine(
                        day, datetime.time(hour, rng.randrange(60), rng.randrange(60)),
                        tzinfo=datetime.UTC,
                    )  # fmt: skip
                    if at < until:
                        calls.append(self._call(len(calls), journey, at))
        calls.sort(key=lambda call: call.at)
        return calls

    def _in_cluster(self, at: datetime.datetime) -> bool:
        return self.cluster[0] <= at < self.cluster[1]

    def _call(self, n: int, journey: str, at: datetime.datetime) -> _Call:
        rng = self.rng
        actions = ACTIONS[journey]
        action_type, _, amounts, irreversible, reply = rng.choices(
            actions, [a[1] for a in actions]
        )[0]
        faulty = journey == "refunds" and self._in_cluster(at)
        if faulty and rng.random() < CLUSTER_EXTRA_DECLINES:
            action_type, _, amounts, irreversible, reply = ACTIONS["refunds"][1]
        amount = Decimal(f"{rng.uniform(*amounts):.2f}") if amounts else None
        signals = {"confidence": min(0.99, round(rng.betavariate(*CONFIDENCE[journey]), 2))}
        if faulty and action_type == "decline_refund":
            # the faulty update: declines near the return window, with middling confidence
            signals["confidence"] = round(rng.uniform(0.5, 0.78), 2)
        signals["sentiment"] = round(rng.triangular(*SENTIMENT), 2)
        if journey == "billing-disputes":
            signals["policy_terms"] = (
                rng.sample(POLICY_TERMS, rng.randint(1, 2)) if rng.random() < 0.06 else []
            )
        if journey == "identity-verification":
            signals.pop("sentiment")
            signals["identity_mismatch"] = rng.random() < 0.15
            signals["recent_fraud_attempts"] = rng.choice((0, 0, 0, 0, 0, 1, 2))
        proposal = {"action": action_type, "reply": reply}
        if amount is not None:
            proposal["amount"] = str(amount)
        request = GateRequest(
            journey=journey,
            action=ProposedAction(
                type=action_type,
                irreversible=irreversible,
                amount=amount,
                currency=CURRENCY if amount is not None else "",
            ),
            signals=signals,
            context=CONTEXT[journey](n, rng),
            proposal=proposal,
            subject_ref=f"cust-{1000 + rng.randrange(9000)}",
        )
        added = server_signals(self.run.journeys[journey], request)
        every = {**signals, **added}
        matches = []
        for point, version, conditions in self._rules(journey, at):
            fired = evaluate_trigger(point.combinator, conditions, every)
            if fired:
                matches.append((point, version, fired))
        paused = journey == "refunds" and self.pause_at <= at < self.resume_at
        rate = float(self.run.journeys[journey].sampling_rate)
        sampled = not (matches or paused) and rng.random() < rate
        return _Call(n, journey, at, request, signals, added, matches, paused, sampled)

    def _evaluations(self, calls: list[_Call]) -> dict[int, GateEvaluation]:
        rows = {}
        for call in calls:
            reasons = [
                f"{point.name}: " + " and ".join(c.explain() for c in fired)
                for point, _, fired in call.matches
            ]
            if call.paused:
                reasons.append("Automation of this journey is paused (Paused by a guardrail)")
            rows[call.n] = GateEvaluation(
                id=demo_id(f"story:evaluation:{call.n}"),
                ai_system=self.run.system,
                journey=self.run.journeys[call.journey],
                created_at=call.at,
                action_type=call.request.action.type,
                irreversible=call.request.action.irreversible,
                amount=call.request.action.amount,
                currency=call.request.action.currency,
                signals=call.signals,
                server_signals=call.added,
                matched=[
                    {
                        "judgement_point": str(point.id),
                        "slug": point.slug,
                        "version": version,
                        "combinator": point.combinator,
                        "fired": [c.as_dict() for c in fired],
                    }
                    for point, version, fired in call.matches
                ],
                route=Route.HUMAN if reasons else Route.AUTOMATE,
                reasons=reasons,
                subject_ref=call.request.subject_ref,
                sampled=call.sampled,
            )
        GateEvaluation.objects.bulk_create(rows.values(), batch_size=500)
        return rows

    # Cases and decisions ----------------------------------------------------------------------

    def _case(self, call: _Call, evaluation: GateEvaluation) -> None:
        run = self.run
        journey = run.journeys[call.journey]
        points = [point for point, _, _ in call.matches]
        if call.sampled:
            route_reason = RouteReason.SAMPLE_AUDIT
        elif call.paused and not points:
            route_reason = RouteReason.AUTOMATION_PAUSED
        else:
            route_reason = RouteReason.TRIGGER
        sla = min((p.sla_minutes for p in points), default=journey.default_sla_minutes)
        lowest = min(run.levels.values(), key=lambda level: level.rank)
        case = Case(
            id=demo_id(MARKER if not self.cases else f"story:case:{call.n}"),
            journey=journey,
            evaluation=evaluation,
            route_reason=route_reason,
            priority=max(
                (p.priority for p in points),
                default=Priority.LOW if call.sampled else Priority.NORMAL,
            ),
            required_level=max(
                (p.required_level for p in points), key=lambda lvl: lvl.rank, default=lowest
            ),
            four_eyes=any(p.four_eyes for p in points),
            context=call.request.context,
            proposal=call.request.proposal,
            action_type=call.request.action.type,
            irreversible=call.request.action.irreversible,
            amount=call.request.action.amount,
            currency=call.request.action.currency,
            confidence=call.signals["confidence"],
            confidence_reasons=evaluation.reasons,
            options=list(dict.fromkeys(o for p in points for o in p.options)),
            subject_ref=call.request.subject_ref,
            sla_deadline=call.at + datetime.timedelta(minutes=sla),
            opened_at=call.at,
        )
        case._change_reason = f"Demo data: opened by seed_demo for AI system {run.system.slug}"
        save_dated(case, by=None, at=call.at, validate=False)
        del case._change_reason
        case.judgement_points.set(points)
        self.cases += 1
        append_event(
            actor=Actor.system("seed_demo"),
            action="case.opened",
            obj=case,
            payload={
                "journey": journey.slug,
                "route_reason": route_reason,
                "evaluation": str(evaluation.pk),
                "judgement_points": [point.slug for point in points],
                "required_level": case.required_level.name,
                "reasons": evaluation.reasons,
                "sla_deadline": case.sla_deadline,
                "story": True,
            },
        )
        self._decide(call, case)

    def _override_share(self, call: _Call) -> float:
        slugs = {point.slug for point, _, _ in call.matches}
        on_point = call.journey == OVERRIDDEN_POINT[0] and OVERRIDDEN_POINT[1] in slugs
        if on_point and self._in_cluster(call.at):
            return OVERRIDE_SHARE["cluster"]
        if on_point and call.at >= self.threshold_at:
            return OVERRIDE_SHARE["after"]
        return OVERRIDE_SHARE["usual"]

    def _decide(self, call: _Call, case: Case) -> None:
        rng = self.rng
        median, spread = DELAY[case.priority]
        decided_at = case.opened_at + datetime.timedelta(
            minutes=min(rng.lognormvariate(math.log(median), spread), 3 * 24 * 60)
        )
        decided_at = min(decided_at, self.run.now - datetime.timedelta(minutes=5))
        if case.route_reason == RouteReason.SAMPLE_AUDIT:
            share = AUDIT_DISAGREE_SHARE["cluster" if self._in_cluster(call.at) else "usual"]
            disagree = call.journey == "refunds" and rng.random() < share
            disagree = disagree or rng.random() < AUDIT_DISAGREE_SHARE["usual"] / 2
            outcome = DecisionOutcome.DISAGREE if disagree else DecisionOutcome.AGREE
        elif rng.random() < self._override_share(call):
            outcome = (
                DecisionOutcome.REJECT
                if call.journey == "identity-verification"
                else DecisionOutcome.MODIFY
            )
        else:
            outcome = DecisionOutcome.APPROVE
        override = outcome in (DecisionOutcome.MODIFY, DecisionOutcome.REJECT)
        large = case.amount is not None and case.amount > 1000
        if (
            large
            and case.required_level.name == "Senior reviewer"
            and not override
            and self._may("senior", "senior-system", decided_at)
            and rng.random() < 0.6
        ):
            # above the senior's limit: they escalate, a team lead decides the next round
            self._decision(case, "senior", "senior-system", DecisionOutcome.ESCALATE, decided_at)
            case.status = CaseStatus.ESCALATED
            case.review_round = 2
            case.required_level = self.run.levels["Team lead"]
            case.escalation_note = RATIONALES[DecisionOutcome.ESCALATE][0]
            save_dated(case, by=self.run.users["senior"], at=decided_at, validate=False)
            decided_at = decided_at + datetime.timedelta(minutes=rng.randint(20, 240))
            decided_at = min(decided_at, self.run.now - datetime.timedelta(minutes=1))
        decider = self._decider(case, decided_at, override=override, outcome=outcome)
        if decider is None:  # nobody else could (a lapse, a limit): the team lead takes it
            decider = ("lead", "lead-system")
        self._decision(case, *decider, outcome, decided_at)
        if case.four_eyes:
            second = next(
                (u, g)
                for u, g in DECIDERS["Team lead"]
                if u != decider[0] and self._may(u, g, decided_at)
            )
            decided_at = decided_at + datetime.timedelta(minutes=rng.randint(10, 90))
            decided_at = min(decided_at, self.run.now - datetime.timedelta(seconds=30))
            self._decision(case, *second, outcome, decided_at, stage=DecisionStage.SECOND)
        case.status = CaseStatus.DECIDED
        case.decided_at = decided_at
        if decided_at > case.sla_deadline:
            case.sla_breached_at = case.sla_deadline  # the SLA task would have stamped it
        save_dated(case, by=self.run.users[decider[0]], at=decided_at, validate=False)
        if self.rng.random() < OUTCOME_SHARE["case"]:
            wrong = outcome in (DecisionOutcome.MODIFY, DecisionOutcome.REJECT)
            wrong = wrong or outcome == DecisionOutcome.DISAGREE
            self._outcome(
                call, case=case, evaluation=case.evaluation, after=decided_at, wrong=wrong
            )

    def _may(self, username: str, grant_key: str, at: datetime.datetime) -> bool:
        grant = self.run.grants[grant_key]
        if not grant.is_active_at(at):
            return False
        user = self.run.users[username]
        required = self._required_modules(grant.level)
        held = {
            c.module_version.module_id
            for c in self._completions(user)
            if c.passed and c.completed_on <= at.date() < c.expires_on
        }
        return required <= held

    def _required_modules(self, level) -> set:
        cache = self.__dict__.setdefault("_requirements", {})
        if level.pk not in cache:
            cache[level.pk] = set(level.training_requirements.values_list("module_id", flat=True))
        return cache[level.pk]

    def _completions(self, user) -> list:
        cache = self.__dict__.setdefault("_user_completions", {})
        if user.pk not in cache:
            cache[user.pk] = list(user.training_completions.select_related("module_version"))
        return cache[user.pk]

    def _decider(self, case: Case, at, *, override: bool, outcome: str):
        candidates = []
        for username, grant_key in DECIDERS[case.required_level.name]:
            grant = self.run.grants[grant_key]
            level = grant.level
            if grant.journey_id not in (None, case.journey_id):
                continue
            if override and not level.may_override:
                continue
            if outcome == DecisionOutcome.DISAGREE and username in ALWAYS_AGREES:
                continue
            limit = level.monetary_limit
            over_limit = limit is not None and case.amount and case.amount > limit
            if outcome == DecisionOutcome.APPROVE and over_limit:
                continue
            if self._may(username, grant_key, at):
                candidates.append((username, grant_key))
        if not candidates:
            return None
        weights = [WEIGHTS[username] for username, _ in candidates]
        return self.rng.choices(candidates, weights)[0]

    def _decision(self, case, username, grant_key, outcome, at, *, stage=DecisionStage.FIRST):
        run = self.run
        reviewer, grant = run.users[username], run.grants[grant_key]
        override = outcome in (DecisionOutcome.MODIFY, DecisionOutcome.REJECT)
        reason = run.reasons[OVERRIDE_REASON[case.journey.slug]] if override else None
        final_action = case.proposal if outcome == DecisionOutcome.APPROVE else None
        if outcome == DecisionOutcome.MODIFY:
            final_action = {**case.proposal, "action": "refund", "edited_by_reviewer": True}
        decision = Decision(
            id=demo_id(f"story:decision:{case.pk}:{case.review_round}:{stage}"),
            case=case,
            review_round=case.review_round,
            stage=stage,
            reviewer=reviewer,
            outcome=outcome,
            final_action=final_action,
            is_override=override,
            override_reason=reason,
            rationale=self.rng.choice(RATIONALES[outcome]),
            authority_level=grant.level,
            grant=grant,
            time_spent_seconds=self.rng.randint(*TIME_SPENT.get(username, TIME_SPENT[None])),
            decided_at=at,
        )
        save_dated(decision, by=reviewer, at=at, validate=False)
        self.decisions += 1
        append_event(
            actor=Actor.for_user(reviewer),
            action="case.decided",
            obj=case,
            payload={
                "decision": str(decision.pk),
                "review_round": decision.review_round,
                "stage": stage,
                "outcome": outcome,
                "is_override": override,
                "override_reason": reason.code if reason else None,
                "authority_level": grant.level.name,
                "grant": str(grant.pk),
                "story": True,
            },
        )

    # Outcomes ---------------------------------------------------------------------------------

    def _outcome_values(self, call: _Call, wrong: bool) -> dict:
        rng = self.rng
        effort = min(7, max(1, round(rng.gauss(4.5 if wrong else 2.2, 1.1))))
        return {
            "customer_effort": effort,
            "repeat_contact": rng.random() < (0.5 if wrong else 0.1),
            "complaint": rng.random() < (0.25 if wrong else 0.02),
            "reversed": rng.random() < (0.2 if wrong else 0.01),
        }

    def _outcome(self, call: _Call, *, case=None, evaluation=None, after, wrong: bool) -> None:
        """An outcome the AI system reported hours or days later (none if that is still to
        come); worse where the assistant was wrong."""
        reported_at = after + datetime.timedelta(hours=self.rng.randint(2, 96))
        if reported_at >= self.run.now:
            return
        outcome = Outcome(
            id=demo_id(f"story:outcome:{call.n}"),
            evaluation=evaluation,
            case=case,
            note="Reported by the support assistant.",
            reported_at=reported_at,
            reported_by=self.run.system,
            **self._outcome_values(call, wrong),
        )
        outcome._change_reason = (
            f"Demo data: reported by seed_demo for AI system {self.run.system.slug}"
        )
        save_dated(outcome, by=None, at=reported_at, validate=False)
        self.outcomes += 1
        append_event(
            actor=Actor.system("seed_demo"),
            action="outcome.recorded",
            obj=outcome,
            payload={
                "evaluation": str(evaluation.pk) if evaluation else None,
                "case": str(case.pk) if case else None,
                "customer_effort": outcome.customer_effort,
                "repeat_contact": outcome.repeat_contact,
                "complaint": outcome.complaint,
                "reversed": outcome.reversed,
                "story": True,
            },
        )

    def _automated_outcomes(self, calls, evaluations) -> None:
        for call in calls:
            if call.matches or call.paused or call.sampled:
                continue
            if self.rng.random() >= OUTCOME_SHARE["automated"]:
                continue
            # the faulty update's automatic declines came back as complaints
            wrong = (
                call.request.action.type == "decline_refund"
                and self._in_cluster(call.at)
                and self.rng.random() < 0.6
            )
            self._outcome(call, evaluation=evaluations[call.n], after=call.at, wrong=wrong)

    # The pause, the threshold change, the resume ----------------------------------------------

    def _guardrail_pause(self, guardrail: Guardrail) -> None:
        """What `evaluate_guardrail` does at the pause's moment: measure, pause through the stop
        button's service, keep the look. Without its e-mail to the managers: they were told
        back then, and seeding a demo sends no mail."""
        value, size = measure(guardrail, now=self.pause_at)
        if value is None or Decimal(str(value)) <= guardrail.threshold:
            # the story's tables no longer tell it: fix them
            raise RuntimeError(f"The override cluster did not pause refunds: {value} of {size}")
        pause_journey(
            journey=guardrail.journey,
            reason=describe_breach(guardrail, value, size),
            guardrail=True,
            at=self.pause_at,
            payload={
                "guardrail": guardrail.pk,
                "kind": guardrail.kind,
                "value": value,
                "threshold": str(guardrail.threshold),
                "window": guardrail.window,
                "sample_size": size,
            },
        )
        GuardrailEvaluation.objects.create(
            guardrail=guardrail,
            evaluated_at=self.pause_at,
            value=value,
            sample_size=size,
            threshold=guardrail.threshold,
            breached=True,
            paused_automation=True,
        )

    def _pause_and_resume(self) -> None:
        run = self.run
        manager = run.users["manager"]
        self._guardrail_pause(self.guardrails["refunds"])
        point = run.points[OVERRIDDEN_POINT]
        apply_threshold(
            user=manager,
            condition_or_point=point,
            new_threshold=THRESHOLD["value"],
            target_rate=0.1,
            note=(
                "Refund declines near the return window were overridden again and again since "
                "the assistant's update: confidence up to 0.75 now reaches a person until the "
                "vendor's fix is confirmed."
            ),
            period=Period(
                start=self.threshold_at - datetime.timedelta(days=30), end=self.threshold_at
            ),
            at=self.threshold_at,
        )
        resume_journey(
            journey=run.journeys["refunds"],
            by=manager,
            note=(
                "Cause found: the assistant counted the return window from the order date. "
                "Low-confidence threshold raised to 0.75; the vendor fixes the update."
            ),
            at=self.resume_at,
        )
        run.journeys["refunds"].refresh_from_db()
