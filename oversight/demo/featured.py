"""The featured cases, told by hand: one in every state, with the gate calls, decisions and
outcomes behind them, in the last two days. The 90 days before them are in `story`."""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from audit.services.ledger import Actor, append_event
from oversight.demo.records import (
    CURRENCY,
    LEAD_LEVEL,
    REVIEWER_LEVEL,
    _ensure,
    _Run,
    demo_id,
    save_dated,
)
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateEvaluation,
    JudgementPoint,
    Outcome,
    Priority,
    Route,
    RouteReason,
)
from oversight.services.gate import GateRequest, ProposedAction, server_signals
from oversight.services.triggers import evaluate_trigger


@dataclass(frozen=True)
class _DecisionSpec:
    reviewer: str
    grant: str
    outcome: str
    minutes_after_opening: int
    rationale: str = ""
    final_action: dict | None = None
    stage: str = DecisionStage.FIRST
    review_round: int = 1
    override_reason: str = ""
    time_spent_seconds: int = 240


@dataclass(frozen=True)
class _OutcomeSpec:
    customer_effort: int
    repeat_contact: bool
    note: str
    minutes_ago: int
    complaint: bool | None = None


@dataclass(frozen=True)
class _CaseSpec:
    """One case as the story tells it.

    `status` and `points` are what the story expects: the gate's own rules decide which points
    fire from the signals, and the tests check both against what was built.
    """

    key: str
    journey: str
    status: str
    opened_minutes_ago: int
    subject_ref: str
    context: dict
    proposal: dict
    action_type: str
    amount: str | None
    signals: dict
    points: tuple[str, ...] = ()
    route_reason: str = RouteReason.TRIGGER
    confidence_reasons: tuple[str, ...] = ()
    irreversible: bool = False
    via_gate: bool = True
    options: tuple[str, ...] = ()
    priority: int | None = None
    claimed_by: str = ""
    escalated_to: str = ""
    escalation_note: str = ""
    decisions: tuple[_DecisionSpec, ...] = ()
    outcome: _OutcomeSpec | None = None


CASES = (
    _CaseSpec(
        key="refund-double-charge",
        journey="refunds",
        status=CaseStatus.OPEN,
        opened_minutes_ago=35,
        subject_ref="cust-4821",
        context={
            "order_id": "LH-2026-118204",
            "customer_tier": "standard",
            "channel": "chat",
            "message_excerpt": "I've been charged twice for my headphones, £89.99 both times. "
            "Please sort it out.",
        },
        proposal={
            "action": "refund",
            "amount": "89.99",
            "reply": "Sorry about the double charge. I've refunded £89.99 to your card; it "
            "will show within 3 to 5 working days.",
        },
        action_type="refund",
        amount="89.99",
        signals={"confidence": 0.58, "sentiment": -0.2},
        points=("low-confidence",),
        confidence_reasons=(
            "Two card payments found, but one may be a pre-authorisation that drops off.",
            "The customer claimed a duplicate charge in March as well.",
        ),
    ),
    _CaseSpec(
        key="refund-bank-transfer",
        journey="refunds",
        status=CaseStatus.OPEN,
        opened_minutes_ago=200,
        subject_ref="cust-3377",
        context={
            "order_id": "LH-2026-117660",
            "customer_tier": "plus",
            "channel": "email",
            "message_excerpt": "My card was cancelled after the fraud on it, so the refund "
            "for the returned TV can't go back there. Please send it to my bank account.",
        },
        proposal={
            "action": "bank_transfer_refund",
            "amount": "329.00",
            "reply": "We'll send £329.00 to the bank account you gave us within 2 working days.",
        },
        action_type="bank_transfer_refund",
        amount="329.00",
        irreversible=True,
        signals={"confidence": 0.86, "sentiment": -0.1},
        points=("irreversible-action",),
        confidence_reasons=("The bank account has not been used on this customer before.",),
    ),
    _CaseSpec(
        key="refund-angry-late-delivery",
        journey="refunds",
        status=CaseStatus.CLAIMED,
        opened_minutes_ago=40,
        subject_ref="cust-5102",
        context={
            "order_id": "LH-2026-118377",
            "customer_tier": "standard",
            "channel": "chat",
            "message_excerpt": "Third time I'm writing. The kettle was for my mum's birthday "
            "and it came a week late. Nobody reads these messages, do they?",
        },
        proposal={
            "action": "refund_delivery_fee",
            "amount": "4.99",
            "reply": "We apologise for the inconvenience. Your delivery fee of £4.99 has been "
            "refunded.",
        },
        action_type="refund_delivery_fee",
        amount="4.99",
        signals={"confidence": 0.81, "sentiment": -0.82},
        points=("emotional-customer",),
        confidence_reasons=("Strong negative sentiment; the customer wrote three times.",),
        claimed_by="reviewer",
    ),
    _CaseSpec(
        key="refund-large-business",
        journey="refunds",
        status=CaseStatus.ESCALATED,
        opened_minutes_ago=150,
        subject_ref="cust-0917",
        context={
            "order_id": "LH-2026-116950",
            "customer_tier": "business",
            "channel": "email",
            "message_excerpt": "Five of the twelve laptops arrived with cracked screens. We "
            "want a refund for all five or we move our account elsewhere.",
        },
        proposal={
            "action": "refund",
            "amount": "1250.00",
            "reply": "We're sorry the laptops arrived damaged. We have refunded £1,250.00 for "
            "the five damaged units.",
        },
        action_type="refund",
        amount="1250.00",
        signals={"confidence": 0.9, "sentiment": -0.4},
        points=("large-refund",),
        confidence_reasons=("Courier damage report received for the consignment.",),
        escalated_to=LEAD_LEVEL,
        escalation_note="Refund exceeds my limit of £1,000 and the customer is a business "
        "account threatening to leave: needs a team lead, ideally with a call to the buyer.",
        decisions=(
            _DecisionSpec(
                reviewer="senior",
                grant="senior-system",
                outcome=DecisionOutcome.ESCALATE,
                minutes_after_opening=60,
                rationale="Amount is above my monetary limit; the damage report supports the "
                "claim in full.",
                time_spent_seconds=420,
            ),
        ),
    ),
    _CaseSpec(
        key="refund-return-window",
        journey="refunds",
        status=CaseStatus.DECIDED,
        opened_minutes_ago=26 * 60,
        subject_ref="cust-2290",
        context={
            "order_id": "LH-2026-114031",
            "customer_tier": "plus",
            "channel": "chat",
            "message_excerpt": "The blender stopped working and I'd like my money back.",
        },
        proposal={
            "action": "decline_refund",
            "reply": "Unfortunately the 30-day return window for your blender has closed, so "
            "we can't offer a refund.",
        },
        action_type="decline_refund",
        amount="149.00",
        signals={"confidence": 0.62, "sentiment": -0.3},
        points=("low-confidence",),
        confidence_reasons=(
            "Return window computed from the order date; the delivery date is missing.",
        ),
        decisions=(
            _DecisionSpec(
                reviewer="senior",
                grant="senior-system",
                outcome=DecisionOutcome.MODIFY,
                minutes_after_opening=95,
                rationale="The courier delivered 12 days late, and the return window counts "
                "from delivery, so the customer is within it. Refunded in full.",
                final_action={
                    "action": "refund",
                    "amount": "149.00",
                    "reply": "You're right: your return window runs from delivery, not the "
                    "order date. We've refunded £149.00 to your card.",
                },
                override_reason="customer-context-missed",
                time_spent_seconds=540,
            ),
        ),
        outcome=_OutcomeSpec(2, False, "Customer thanked the agent in the survey.", 20 * 60),
    ),
    _CaseSpec(
        key="refund-sample-audit",
        journey="refunds",
        status=CaseStatus.DECIDED,
        opened_minutes_ago=20 * 60,
        route_reason=RouteReason.SAMPLE_AUDIT,
        subject_ref="cust-6634",
        context={
            "order_id": "LH-2026-117012",
            "customer_tier": "standard",
            "channel": "email",
            "message_excerpt": "The phone case I ordered is the wrong colour.",
        },
        proposal={
            "action": "refund",
            "amount": "24.99",
            "reply": "Sorry for the mix-up. We've refunded £24.99; no need to send it back.",
        },
        action_type="refund",
        amount="24.99",
        signals={"confidence": 0.95, "sentiment": -0.1},
        options=("agree with the automation", "disagree with the automation"),
        priority=Priority.LOW,
        decisions=(
            _DecisionSpec(
                reviewer="reviewer",
                grant="reviewer-refunds",
                outcome=DecisionOutcome.AGREE,
                minutes_after_opening=300,
                rationale="Within policy for low-value wrong-item claims.",
                time_spent_seconds=90,
            ),
        ),
    ),
    _CaseSpec(
        key="billing-chargeback-threat",
        journey="billing-disputes",
        status=CaseStatus.DECIDED,
        opened_minutes_ago=30 * 60,
        subject_ref="cust-7745",
        context={
            "account_id": "ACC-550231",
            "invoice_number": "INV-2026-10-88412",
            "customer_tier": "standard",
            "channel": "chat",
            "message_excerpt": "You charged me £64.20 roaming when I was at home. Fix it or "
            "I'm doing a chargeback and going to the ombudsman.",
        },
        proposal={
            "action": "credit",
            "amount": "64.20",
            "reply": "You're right, those roaming charges are wrong: the network logged your "
            "phone abroad by mistake. We've credited £64.20 to your next invoice.",
        },
        action_type="credit",
        amount="64.20",
        signals={
            "confidence": 0.88,
            "sentiment": -0.45,
            "policy_terms": ["chargeback", "ombudsman"],
        },
        points=("policy-language",),
        confidence_reasons=("Network logs show a known roaming-misattribution fault.",),
        decisions=(
            _DecisionSpec(
                reviewer="reviewer",
                grant="reviewer-billing",
                outcome=DecisionOutcome.APPROVE,
                minutes_after_opening=50,
                rationale="Matches the known network fault; the credit settles the dispute.",
                time_spent_seconds=300,
            ),
        ),
        outcome=_OutcomeSpec(
            4, True, "Customer called again to check the credit was on the invoice.", 8 * 60
        ),
    ),
    _CaseSpec(
        key="billing-unmatched-charge",
        journey="billing-disputes",
        status=CaseStatus.OPEN,
        opened_minutes_ago=15,
        subject_ref="cust-8812",
        context={
            "account_id": "ACC-601877",
            "invoice_number": "INV-2026-11-90215",
            "customer_tier": "plus",
            "channel": "email",
            "message_excerpt": "What is the £12.00 'device care' line? I never signed up.",
        },
        proposal={
            "action": "explain_charge",
            "reply": "The £12.00 is your Device Care plan, added with your tablet in August.",
        },
        action_type="explain_charge",
        amount="12.00",
        signals={"confidence": 0.54, "sentiment": -0.3, "policy_terms": []},
        points=("low-confidence",),
        confidence_reasons=(
            "No signed Device Care agreement found for this account.",
            "The plan was added by a store colleague, not online.",
        ),
    ),
    _CaseSpec(
        key="billing-customer-asked-human",
        journey="billing-disputes",
        status=CaseStatus.OPEN,
        opened_minutes_ago=25,
        route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN,
        via_gate=False,
        subject_ref="cust-1408",
        context={
            "account_id": "ACC-483310",
            "invoice_number": "INV-2026-11-90002",
            "customer_tier": "standard",
            "channel": "chat",
            "message_excerpt": "I don't want to talk to a bot about this. Put me through to a "
            "person please.",
        },
        proposal={"action": "hand_over", "reply": "Of course, I'm passing you to a colleague."},
        action_type="hand_over",
        amount=None,
        signals={},
        options=("answer the customer", "call the customer back", "hand over to disputes team"),
        priority=Priority.HIGH,
    ),
    _CaseSpec(
        key="identity-address-change",
        journey="identity-verification",
        status=CaseStatus.AWAITING_SECOND_REVIEW,
        opened_minutes_ago=55,
        subject_ref="cust-9063",
        context={
            "account_id": "ACC-377104",
            "verification_channel": "chat",
            "message_excerpt": "I've moved, please send the replacement card to 14 Mill Lane.",
        },
        proposal={
            "action": "change_address",
            "reply": "Your address is updated and the replacement card is on its way.",
        },
        action_type="change_address",
        amount=None,
        signals={"confidence": 0.71, "identity_mismatch": True, "recent_fraud_attempts": 2},
        points=("identity-fraud-combination",),
        confidence_reasons=(
            "Date of birth given does not match the account.",
            "Two failed log-ins from a new device this week.",
        ),
        decisions=(
            _DecisionSpec(
                reviewer="lead",
                grant="lead-system",
                outcome=DecisionOutcome.REJECT,
                minutes_after_opening=20,
                rationale="Wrong date of birth plus two fresh fraud attempts and a new postal "
                "address: classic account takeover. Keep the card at the old address.",
                final_action={"action": "lock_account", "refer_to": "fraud team"},
                override_reason="fraud-suspected",
                time_spent_seconds=360,
            ),
        ),
    ),
    _CaseSpec(
        key="identity-new-email",
        journey="identity-verification",
        status=CaseStatus.DECIDED,
        opened_minutes_ago=48 * 60,
        subject_ref="cust-4410",
        context={
            "account_id": "ACC-290558",
            "verification_channel": "phone",
            "message_excerpt": "I've lost access to my old e-mail, please change it.",
        },
        proposal={
            "action": "request_video_identification",
            "reply": "For your security we need a short video check before changing your "
            "e-mail. Here is the link.",
        },
        action_type="request_video_identification",
        amount=None,
        signals={"confidence": 0.64, "identity_mismatch": True, "recent_fraud_attempts": 1},
        points=("identity-fraud-combination",),
        confidence_reasons=("Security answer given was partly wrong.",),
        decisions=(
            _DecisionSpec(
                reviewer="senior",
                grant="senior-identity",
                outcome=DecisionOutcome.APPROVE,
                minutes_after_opening=40,
                rationale="Video identification is the right step before any e-mail change.",
            ),
            _DecisionSpec(
                reviewer="lead",
                grant="lead-system",
                outcome=DecisionOutcome.APPROVE,
                minutes_after_opening=85,
                rationale="Agreed; nothing changes on the account until the video check passes.",
                stage=DecisionStage.SECOND,
                time_spent_seconds=150,
            ),
        ),
    ),
)


@dataclass(frozen=True)
class _AutomatedSpec:
    """A gate call that no judgement point stopped: automation went ahead."""

    key: str
    journey: str
    subject_ref: str
    context: dict
    proposal: dict
    action_type: str
    amount: str | None
    signals: dict
    irreversible: bool = False
    outcome: _OutcomeSpec | None = None
    # When the call was made: among the days of the cases, before its outcome was reported.
    called_minutes_ago: int = 60


AUTOMATED = (
    _AutomatedSpec(
        key="refund-missing-charger",
        journey="refunds",
        subject_ref="cust-3051",
        context={"order_id": "LH-2026-118199", "customer_tier": "standard", "channel": "chat"},
        proposal={
            "action": "refund",
            "amount": "19.99",
            "reply": "Sorry the charger was missing from the box. We've refunded £19.99.",
        },
        action_type="refund",
        amount="19.99",
        signals={"confidence": 0.93, "sentiment": 0.1},
        outcome=_OutcomeSpec(1, False, "Resolved in the first reply.", 30),
        called_minutes_ago=40 * 60,
    ),
    _AutomatedSpec(
        key="billing-explain-proration",
        journey="billing-disputes",
        subject_ref="cust-7120",
        context={
            "account_id": "ACC-611402",
            "invoice_number": "INV-2026-11-90388",
            "customer_tier": "standard",
        },
        proposal={
            "action": "explain_charge",
            "reply": "The £8.40 covers the 12 days between your upgrade and your billing date.",
        },
        action_type="explain_charge",
        amount="8.40",
        signals={"confidence": 0.91, "sentiment": -0.2, "policy_terms": []},
        called_minutes_ago=22 * 60,
    ),
    # A mismatch alone, with no recent fraud attempts: the ALL trigger does not fire.
    _AutomatedSpec(
        key="identity-typo-in-postcode",
        journey="identity-verification",
        subject_ref="cust-2518",
        context={"account_id": "ACC-318870", "verification_channel": "chat"},
        proposal={
            "action": "request_second_document",
            "reply": "The postcode doesn't match our records. Could you upload a recent bill?",
        },
        action_type="request_second_document",
        amount=None,
        signals={"confidence": 0.83, "identity_mismatch": True, "recent_fraud_attempts": 0},
        called_minutes_ago=3 * 60,
    ),
)

# Empty lists are valid here (an automated call fires nothing), though a form would call them
# blank.
UNVALIDATED_EVALUATION_FIELDS = ("matched", "reasons")


def _gate_request(spec: _CaseSpec | _AutomatedSpec) -> GateRequest:
    amount = Decimal(spec.amount) if spec.amount else None
    return GateRequest(
        journey=spec.journey,
        action=ProposedAction(
            type=spec.action_type,
            irreversible=spec.irreversible,
            amount=amount,
            currency=CURRENCY if amount is not None else "",
        ),
        signals=spec.signals,
        context=spec.context,
        proposal=spec.proposal,
        subject_ref=spec.subject_ref,
    )


def _evaluation(
    run: _Run,
    key: str,
    request: GateRequest,
    *,
    called_at: datetime.datetime,
    sampled: bool = False,
) -> tuple[GateEvaluation, list[JudgementPoint]]:
    """Record a demo gate call judged by the gate's own rules, and the points that fired."""
    journey = run.journeys[request.journey]
    added = server_signals(journey, request)
    signals = {**request.signals, **added}
    matches = []
    points = journey.judgement_points.filter(is_active=True).prefetch_related("conditions")
    for point in points.order_by("slug"):
        conditions = [(c.signal, c.operator, c.value) for c in point.conditions.all()]
        fired = evaluate_trigger(point.combinator, conditions, signals)
        if fired:
            matches.append((point, fired))
    evaluation, _ = _ensure(
        run,
        "gate evaluations",
        GateEvaluation,
        lookup={"id": demo_id(f"evaluation:{key}")},
        defaults={
            "ai_system": run.system,
            "journey": journey,
            "action_type": request.action.type,
            "irreversible": request.action.irreversible,
            "amount": request.action.amount,
            "currency": request.action.currency,
            "signals": request.signals,
            "server_signals": added,
            "matched": [
                {
                    "judgement_point": str(point.id),
                    "slug": point.slug,
                    "version": point.version,
                    "combinator": point.combinator,
                    "fired": [condition.as_dict() for condition in fired],
                }
                for point, fired in matches
            ],
            "route": Route.HUMAN if matches else Route.AUTOMATE,
            "reasons": [
                f"{point.name}: " + " and ".join(condition.explain() for condition in fired)
                for point, fired in matches
            ],
            "subject_ref": request.subject_ref,
            "sampled": sampled,
            "created_at": called_at,
        },
        by=None,
        unvalidated=UNVALIDATED_EVALUATION_FIELDS,
    )
    return evaluation, [point for point, _ in matches]


def _automated_evaluations(run: _Run) -> None:
    for spec in AUTOMATED:
        existing = GateEvaluation.objects.filter(id=demo_id(f"evaluation:{spec.key}")).first()
        if existing is not None:
            run.result.count("gate evaluations", created=False)
            run.result.count("outcomes", created=False, number=existing.outcomes.count())
            continue
        called_at = run.now - datetime.timedelta(minutes=spec.called_minutes_ago)
        evaluation, _ = _evaluation(run, spec.key, _gate_request(spec), called_at=called_at)
        if spec.outcome:
            _outcome(run, spec.outcome, key=spec.key, evaluation=evaluation)


def _cases(run: _Run) -> None:
    for spec in CASES:
        case_id = demo_id(f"case:{spec.key}")
        case = Case.objects.filter(id=case_id).first()
        if case is None:
            _case(run, spec, case_id)
            continue
        # Found with everything recorded on it: nothing is added to an existing case.
        run.result.count("gate evaluations", created=False, number=int(bool(case.evaluation_id)))
        run.result.count("cases", created=False)
        run.result.count("decisions", created=False, number=case.decisions.count())
        run.result.count("outcomes", created=False, number=case.outcomes.count())


def _case(run: _Run, spec: _CaseSpec, case_id: uuid.UUID) -> None:
    """One case with its gate evaluation, decisions and outcome, told in the order it happened.

    Level, SLA, priority, four eyes and options follow from the points that fired, as the gate
    derives them.
    """
    journey = run.journeys[spec.journey]
    request = _gate_request(spec)
    evaluation, points = None, []
    opened_at = run.now - datetime.timedelta(minutes=spec.opened_minutes_ago)
    if spec.via_gate:
        sampled = spec.route_reason == RouteReason.SAMPLE_AUDIT
        evaluation, points = _evaluation(
            run, spec.key, request, called_at=opened_at, sampled=sampled
        )
    sla_minutes = min((p.sla_minutes for p in points), default=journey.default_sla_minutes)
    sla_deadline = opened_at + datetime.timedelta(minutes=sla_minutes)
    # The SLA task would have stamped the breach of an undecided case past its deadline.
    breached = spec.status != CaseStatus.DECIDED and sla_deadline < run.now
    case = Case(
        id=case_id,
        journey=journey,
        evaluation=evaluation,
        route_reason=spec.route_reason,
        priority=spec.priority or max((p.priority for p in points), default=Priority.NORMAL),
        required_level=max(
            (p.required_level for p in points),
            key=lambda level: level.rank,
            default=run.levels[REVIEWER_LEVEL],
        ),
        four_eyes=any(p.four_eyes for p in points),
        context=spec.context,
        proposal=spec.proposal,
        action_type=spec.action_type,
        irreversible=spec.irreversible,
        amount=request.action.amount,
        currency=request.action.currency,
        confidence=spec.signals.get("confidence"),
        confidence_reasons=list(spec.confidence_reasons),
        options=list(spec.options) or list(dict.fromkeys(o for p in points for o in p.options)),
        subject_ref=spec.subject_ref,
        sla_deadline=sla_deadline,
        sla_breached_at=sla_deadline if breached else None,
        opened_at=opened_at,
    )
    # Opened for the AI system, not by a person: the history row names no user.
    case._change_reason = f"Demo data: opened by seed_demo for AI system {run.system.slug}"
    save_dated(case, by=None, at=opened_at)
    del case._change_reason  # the reason of this save only, not of the decisions' saves
    case.judgement_points.set(points)
    run.result.count("cases", created=True)
    append_event(
        actor=Actor.system("seed_demo"),
        action="case.opened",
        obj=case,
        payload={
            "journey": journey.slug,
            "route_reason": case.route_reason,
            "evaluation": str(evaluation.pk) if evaluation else None,
            "judgement_points": [point.slug for point in points],
            "required_level": case.required_level.name,
            "reasons": evaluation.reasons if evaluation else [],
            "sla_deadline": case.sla_deadline,
        },
    )
    if spec.claimed_by:
        _claim(run, case, run.users[spec.claimed_by])
    for decision_spec in spec.decisions:
        _decision(run, case, spec, decision_spec)
    if spec.outcome:
        _outcome(run, spec.outcome, key=spec.key, case=case, evaluation=evaluation)


def _claim(run: _Run, case: Case, reviewer) -> None:
    case.status = CaseStatus.CLAIMED
    case.claimed_by = reviewer
    case.claimed_at = run.now - datetime.timedelta(minutes=12)
    case.claim_expires_at = case.claimed_at + datetime.timedelta(minutes=30)
    save_dated(case, by=reviewer, at=case.claimed_at)
    append_event(
        actor=Actor.for_user(reviewer),
        action="case.claimed",
        obj=case,
        payload={"claimed_by": reviewer.get_username(), "claim_expires_at": case.claim_expires_at},
    )


def _decision(run: _Run, case: Case, spec: _CaseSpec, decision_spec: _DecisionSpec) -> None:
    """One decision, with the level and grant its reviewer held, and the case's next state."""
    reviewer = run.users[decision_spec.reviewer]
    grant = run.grants[decision_spec.grant]
    decided_at = case.opened_at + datetime.timedelta(minutes=decision_spec.minutes_after_opening)
    decision_key = f"decision:{spec.key}:{decision_spec.review_round}:{decision_spec.stage}"
    decision, _ = _ensure(
        run,
        "decisions",
        Decision,
        lookup={"id": demo_id(decision_key)},
        defaults={
            "case": case,
            "review_round": decision_spec.review_round,
            "stage": decision_spec.stage,
            "reviewer": reviewer,
            "outcome": decision_spec.outcome,
            "final_action": decision_spec.final_action
            or (case.proposal if decision_spec.outcome == DecisionOutcome.APPROVE else None),
            "is_override": bool(decision_spec.override_reason),
            "override_reason": run.reasons.get(decision_spec.override_reason),
            "rationale": decision_spec.rationale,
            "authority_level": grant.level,
            "grant": grant,
            "time_spent_seconds": decision_spec.time_spent_seconds,
            "decided_at": decided_at,
        },
        by=reviewer,
        history_date=decided_at,
    )
    if decision_spec.outcome == DecisionOutcome.ESCALATE:
        case.status = CaseStatus.ESCALATED
        case.review_round += 1
        case.required_level = run.levels[spec.escalated_to]
        case.escalation_note = spec.escalation_note
    elif case.four_eyes and decision_spec.stage == DecisionStage.FIRST:
        case.status = CaseStatus.AWAITING_SECOND_REVIEW
    else:
        case.status = CaseStatus.DECIDED
        case.decided_at = decided_at
    case.claimed_by = case.claimed_at = case.claim_expires_at = None
    save_dated(case, by=reviewer, at=decided_at)
    append_event(
        actor=Actor.for_user(reviewer),
        action="case.decided",
        obj=case,
        payload={
            "decision": str(decision.pk),
            "review_round": decision.review_round,
            "stage": decision.stage,
            "outcome": decision.outcome,
            "is_override": decision.is_override,
            "override_reason": decision_spec.override_reason or None,
            "authority_level": grant.level.name,
            "grant": str(grant.pk),
            "status": case.status,
        },
    )


def _outcome(
    run: _Run,
    spec: _OutcomeSpec,
    *,
    key: str,
    evaluation: GateEvaluation | None,
    case: Case | None = None,
) -> None:
    """An outcome the AI system reported later; like the API, it names the evaluation too."""
    outcome = Outcome(
        id=demo_id(f"outcome:{key}"),
        evaluation=evaluation,
        case=case,
        customer_effort=spec.customer_effort,
        repeat_contact=spec.repeat_contact,
        complaint=spec.complaint,
        note=spec.note,
        reported_at=run.now - datetime.timedelta(minutes=spec.minutes_ago),
        reported_by=run.system,
    )
    outcome._change_reason = f"Demo data: reported by seed_demo for AI system {run.system.slug}"
    save_dated(outcome, by=None, at=outcome.reported_at)
    run.result.count("outcomes", created=True)
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
        },
    )
