"""The demo's shadow-mode story: a journey tested before use, signed off live, and back in shadow.

"Plan changes" (customers upgrading, downgrading or cancelling a device plan) was set up with the
rest of the support assistant, in shadow: from its first call, 62 days ago, every call went to a
person while the assistant's proposals were measured. After four weeks (48 decided shadow cases,
46 agreeing) the manager signed it off live at a 90 % target over at least 40 decisions. Six days
ago the provider shipped a new model version and the manager put the journey back in shadow to
measure it afresh; since 14 shadow cases were decided (12 agreeing) and three wait in the queue.

Built through the services where the story has a person act (the journey, its judgement point,
the sign-off, the return to shadow: permission checks, history and ledger as in real use),
dated with the story's moments; the gate calls, cases and decisions are written directly, dated,
like the 90-day story's. Told once: an existing journey of that slug means it is there.
"""

import datetime
import random
from decimal import Decimal

from audit.services.ledger import Actor, append_event
from oversight.demo.records import REVIEWER_LEVEL, demo_id, save_dated
from oversight.exceptions import NotAllowed
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    GateEvaluation,
    Journey,
    JudgementPoint,
    Operator,
    Priority,
    Route,
    RouteReason,
    TriggerCondition,
)
from oversight.services.cases import deciding_grant
from oversight.services.configuration import save_journey, save_judgement_point
from oversight.services.gate import SHADOW_REASON
from oversight.services.golive import return_to_shadow, sign_off_go_live

SLUG = "plan-changes"
SEED = 1907
DAY = datetime.timedelta(days=1)
SIGNED_OFF_DAYS_AGO = 30
BACK_TO_SHADOW_DAYS_AGO = 6
# (first day ago, last day ago, decided cases, of which disagreeing)
FIRST_PERIOD = (62, 32, 48, 2)
SECOND_PERIOD = (6, 1, 14, 2)
WAITING = 3
DECIDERS = ("senior", "lead", "manager")
OPTIONS = ["change the plan as asked", "offer the retention discount", "explain the fee"]
FEE_POINT = {
    "slug": "termination-fee",
    "name": "Cancellation with an early-termination fee",
    "description": "A fee applies: a person checks the contract before the customer is told.",
}
REPLIES = [
    "Your plan is now {plan}; the new price applies from your next invoice.",
    "You can move to {plan} today; no fee applies after the first twelve months.",
    "Cancelling now costs an early-termination fee of {fee} GBP under your contract.",
]
PLANS = ["Home Basic", "Home Plus", "Home Max"]
OVERRIDE_REASON = "customer-context-missed"
DISAGREE_RATIONALE = "The customer is still in the minimum term: the fee applies; reply corrected."


def tell_shadow_story(run) -> None:
    """Add the shadow-mode journey and its history unless it is there (then count it found)."""
    if Journey.objects.filter(ai_system=run.system, slug=SLUG).exists():
        run.result.count("shadow-mode journey", created=False)
        return
    _ShadowStory(run).tell()
    run.result.count("shadow-mode journey", created=True)


class _ShadowStory:
    def __init__(self, run):
        self.run = run
        self.rng = random.Random(SEED)
        self.manager = run.users["manager"]
        self.n = 0

    def tell(self) -> None:
        run = self.run
        created = run.set_up_at  # with the rest of the configuration, before every case
        journey = Journey(
            ai_system=run.system,
            slug=SLUG,
            name="Plan changes",
            description="Customers upgrading, downgrading or cancelling a device-subscription "
            "plan. New in the assistant: tested in shadow mode before it acts.",
            required_context_keys=["account_id", "plan"],
            default_sla_minutes=480,
        )
        journey.full_clean()
        journey._history_date = created
        self.journey = save_journey(journey=journey, by=self.manager)
        point = JudgementPoint(
            journey=journey,
            slug=FEE_POINT["slug"],
            name=FEE_POINT["name"],
            description=FEE_POINT["description"],
            required_level=run.levels[REVIEWER_LEVEL],
            sla_minutes=480,
            options=OPTIONS,
            priority=Priority.NORMAL,
        )
        point.full_clean()
        point._history_date = created
        self.point = save_judgement_point(point=point, changed_by=self.manager)
        condition = TriggerCondition(
            judgement_point=point, signal="early_termination_fee", operator=Operator.GT, value=0
        )
        condition.full_clean()
        condition._history_user = self.manager
        condition._history_date = created
        condition.save()

        self._period(*FIRST_PERIOD)
        sign_off_go_live(
            journey=self.journey,
            by=self.manager,
            target_agreement="0.90",
            min_decisions=40,
            note="Four weeks in shadow reviewed with the billing team; the two disagreements "
            "were fee cases, which stay with a person (judgement point).",
            at=run.now - SIGNED_OFF_DAYS_AGO * DAY,
        )
        return_to_shadow(
            journey=self.journey,
            by=self.manager,
            reason="The provider shipped model v2.3: measure it in shadow before it acts again.",
            at=run.now - BACK_TO_SHADOW_DAYS_AGO * DAY,
        )
        self._period(*SECOND_PERIOD)
        for _ in range(WAITING):
            self._case(self.run.now - datetime.timedelta(hours=self.rng.randint(1, 5)))

    def _period(self, first_ago: int, last_ago: int, decided: int, disagreeing: int) -> None:
        """`decided` shadow cases spread over the days; the lowest confidences disagree."""
        rng = self.rng
        span = (first_ago - last_ago) * 24
        moments = sorted(
            self.run.now - first_ago * DAY + datetime.timedelta(hours=rng.uniform(0, span))
            for _ in range(decided)
        )
        confidences = [round(rng.uniform(0.62, 0.99), 2) for _ in range(decided)]
        lowest = sorted(range(decided), key=lambda i: confidences[i])[:disagreeing]
        for index, opened in enumerate(moments):
            case = self._case(opened, confidence=confidences[index])
            outcome = DecisionOutcome.MODIFY if index in lowest else DecisionOutcome.APPROVE
            self._decide(case, outcome, opened + datetime.timedelta(minutes=rng.randint(20, 300)))

    def _case(self, opened: datetime.datetime, *, confidence: float | None = None) -> Case:
        rng = self.rng
        self.n += 1
        n = self.n
        confidence = confidence if confidence is not None else round(rng.uniform(0.62, 0.99), 2)
        fee = rng.choice([0, 0, 0, 45, 60])
        plan = rng.choice(PLANS)
        point_fires = fee > 0
        reasons = [
            *(
                [f"{self.point.name}: early_termination_fee is above 0 (was {fee})"]
                if point_fires
                else []
            ),
            SHADOW_REASON,
        ]
        signals = {"confidence": confidence, "early_termination_fee": fee}
        context = {"account_id": f"ACC-{52000 + n}", "plan": plan}
        proposal = {
            "action": "change_plan" if not fee else "cancel_with_fee",
            "reply": rng.choice(REPLIES).format(plan=plan, fee=fee or 0),
        }
        evaluation = GateEvaluation.objects.create(
            id=demo_id(f"shadow:evaluation:{n}"),
            ai_system=self.run.system,
            journey=self.journey,
            created_at=opened,
            action_type="plan_change",
            signals=signals,
            server_signals={
                "irreversible": False,
                "amount": None,
                "missing_context": False,
                "missing_context_keys": [],
                "pii_in_proposal": False,
                "pii_kinds": [],
            },
            matched=[
                {
                    "judgement_point": str(self.point.pk),
                    "slug": self.point.slug,
                    "version": self.point.version,
                    "combinator": self.point.combinator,
                    "fired": [
                        {
                            "signal": "early_termination_fee",
                            "operator": "gt",
                            "value": 0,
                            "actual": fee,
                        }
                    ],
                }
            ]
            if point_fires
            else [],
            route=Route.HUMAN,
            reasons=reasons,
            subject_ref=f"cust-{7000 + n}",
        )
        case = Case(
            id=demo_id(f"shadow:case:{n}"),
            journey=self.journey,
            evaluation=evaluation,
            route_reason=RouteReason.SHADOW,
            priority=Priority.NORMAL,
            required_level=self.run.levels[REVIEWER_LEVEL],
            context=context,
            proposal=proposal,
            action_type="plan_change",
            amount=Decimal(fee) if fee else None,
            currency="GBP" if fee else "",
            confidence=confidence,
            confidence_reasons=reasons,
            options=OPTIONS,
            subject_ref=evaluation.subject_ref,
            sla_deadline=opened + datetime.timedelta(minutes=480),
            opened_at=opened,
        )
        case._change_reason = "Demo data: opened in shadow mode by seed_demo"
        save_dated(case, by=None, at=opened, validate=False)
        del case._change_reason
        if point_fires:
            case.judgement_points.add(self.point)
        append_event(
            actor=Actor.system("seed_demo"),
            action="case.opened",
            obj=case,
            payload={
                "journey": SLUG,
                "route_reason": RouteReason.SHADOW,
                "evaluation": str(evaluation.pk),
                "reasons": reasons,
                "sla_deadline": case.sla_deadline,
                "story": True,
            },
        )
        return case

    def _decide(self, case: Case, outcome: str, at: datetime.datetime) -> None:
        at = min(at, self.run.now - datetime.timedelta(minutes=5))
        override = outcome == DecisionOutcome.MODIFY
        reviewer, grant = self._decider(case, at)
        decision = Decision(
            id=demo_id(f"shadow:decision:{case.pk}"),
            case=case,
            reviewer=reviewer,
            outcome=outcome,
            final_action={**case.proposal, "reply": "Corrected by the reviewer: fee explained."}
            if override
            else case.proposal,
            is_override=override,
            override_reason=self.run.reasons[OVERRIDE_REASON] if override else None,
            rationale=DISAGREE_RATIONALE if override else "",
            authority_level=grant.level,
            grant=grant,
            time_spent_seconds=self.rng.randint(60, 420),
            decided_at=at,
        )
        save_dated(decision, by=reviewer, at=at, validate=False)
        case.status = CaseStatus.DECIDED
        case.decided_at = at
        save_dated(case, by=reviewer, at=at, validate=False)
        append_event(
            actor=Actor.for_user(reviewer),
            action="case.overridden" if override else "case.decided",
            obj=case,
            payload={
                "decision": str(decision.pk),
                "outcome": outcome,
                "override": override,
                "level": grant.level.name,
                "grant": str(grant.pk),
                "story": True,
            },
        )

    def _decider(self, case: Case, at: datetime.datetime):
        """The first of the deciders (in a shuffled order) the product would let decide."""
        names = list(DECIDERS)
        self.rng.shuffle(names)
        for name in names:
            user = self.run.users[name]
            try:
                grant = deciding_grant(case, user, at=at)
            except NotAllowed:
                continue
            if grant.level.may_override:  # a disagreement here is an override
                return user, grant
        raise RuntimeError(f"Nobody in the demo may decide shadow case {case.pk} at {at}.")
