"""The demo's configuration: the AI system, its journeys, authority levels, judgement points
with their triggers, and override reasons, all dated before the story begins."""

from dataclasses import dataclass
from decimal import Decimal

from oversight.demo.records import (
    LEAD_LEVEL,
    REVIEWER_LEVEL,
    SENIOR_LEVEL,
    SYSTEM_SLUG,
    _ensure,
    _Run,
)
from oversight.models import (
    AISystem,
    AuthorityLevel,
    AutomationState,
    Combinator,
    Journey,
    JudgementPoint,
    Operator,
    OverrideReason,
    Priority,
    RiskCategory,
    TriggerCondition,
)
from oversight.services.configuration import save_judgement_point


def _ai_system(run: _Run) -> None:
    run.system, _ = _ensure(
        run,
        "AI systems",
        AISystem,
        lookup={"slug": SYSTEM_SLUG},
        defaults={
            "name": "Support assistant",
            "provider": "Calder Conversational AI Ltd (hosted language-model agent)",
            "intended_purpose": (
                "Answers Lumen Home customers in chat and e-mail: proposes refunds on orders, "
                "explains invoices and settles billing disputes on device subscriptions, and "
                "verifies a customer's identity before account changes. Every proposal with a "
                "consequence for the customer passes the oversight gate before it takes effect."
            ),
            "risk_category": RiskCategory.LIMITED,
            "owner": run.users["manager"],
        },
        by=run.users["admin"],
        history_date=run.set_up_at,
    )


@dataclass(frozen=True)
class _JourneySpec:
    slug: str
    name: str
    description: str
    required_context_keys: tuple[str, ...]
    sampling_rate: str
    default_sla_minutes: int


JOURNEYS = (
    _JourneySpec(
        "refunds",
        "Refunds",
        "Refunds on orders: damaged, late, missing or double-charged items.",
        ("order_id", "customer_tier"),
        "0.03",
        1440,
    ),
    _JourneySpec(
        "billing-disputes",
        "Billing disputes",
        "Customers disputing a charge on their device-subscription invoice.",
        ("account_id", "invoice_number", "customer_tier"),
        "0.02",
        240,
    ),
    _JourneySpec(
        "identity-verification",
        "Identity verification",
        "Checking who the customer is before changing an address, an e-mail or a payment card.",
        ("account_id", "verification_channel"),
        "0.05",
        240,
    ),
)


def _journeys(run: _Run) -> None:
    for spec in JOURNEYS:
        run.journeys[spec.slug], _ = _ensure(
            run,
            "journeys",
            Journey,
            lookup={"ai_system": run.system, "slug": spec.slug},
            defaults={
                "name": spec.name,
                "description": spec.description,
                "required_context_keys": list(spec.required_context_keys),
                "sampling_rate": Decimal(spec.sampling_rate),
                "default_sla_minutes": spec.default_sla_minutes,
                # Live since before shadow mode existed; the shadow-mode story is
                # oversight.demo.shadow's own journey.
                "automation_state": AutomationState.RUNNING,
            },
            by=run.users["admin"],
            history_date=run.set_up_at,
        )


# Authority levels and judgement points --------------------------------------------------------

LEVELS = (
    {
        "name": REVIEWER_LEVEL,
        "rank": 1,
        "description": "Decides routine cases within the proposal; cannot override the AI.",
        "may_decide": True,
        "may_override": False,
        "may_approve_irreversible": False,
        "monetary_limit": Decimal("100.00"),
    },
    {
        "name": SENIOR_LEVEL,
        "rank": 2,
        "description": "Experienced agent: may override the assistant, up to 1,000.00.",
        "may_decide": True,
        "may_override": True,
        "may_approve_irreversible": False,
        "monetary_limit": Decimal("1000.00"),
    },
    {
        "name": LEAD_LEVEL,
        "rank": 3,
        "description": "Team lead: may override and approve irreversible actions, no limit.",
        "may_decide": True,
        "may_override": True,
        "may_approve_irreversible": True,
        "monetary_limit": None,
    },
)


def _authority_levels(run: _Run) -> None:
    for values in LEVELS:
        name = values["name"]
        defaults = {key: value for key, value in values.items() if key != "name"}
        run.levels[name], _ = _ensure(
            run,
            "authority levels",
            AuthorityLevel,
            lookup={"name": name},
            defaults=defaults,
            by=run.users["admin"],
            history_date=run.set_up_at,
        )


@dataclass(frozen=True)
class _PointSpec:
    journey: str
    slug: str
    name: str
    description: str
    level: str
    sla_minutes: int
    priority: int
    options: tuple[str, ...]
    conditions: tuple[tuple[str, str, object], ...]
    combinator: str = Combinator.ANY
    four_eyes: bool = False


REFUND_OPTIONS = ("refund in full", "partial refund", "decline with explanation")
BILLING_OPTIONS = ("credit the disputed amount", "explain the charge", "hand over to disputes team")

POINTS = (
    _PointSpec(
        "refunds",
        "low-confidence",
        "Low confidence on a refund",
        "The assistant is unsure of its own proposal: check the order history and the policy "
        "before the refund or refusal reaches the customer.",
        REVIEWER_LEVEL,
        240,
        Priority.NORMAL,
        (*REFUND_OPTIONS, "ask the customer for details"),
        # raised to 0.75 in the story (oversight.demo.story), after an override cluster
        (("confidence", Operator.LT, 0.6),),
    ),
    _PointSpec(
        "refunds",
        "irreversible-action",
        "Irreversible refund",
        "Bank transfers and gift-card refunds cannot be recalled once sent: only a team lead "
        "may let one go out.",
        LEAD_LEVEL,
        120,
        Priority.URGENT,
        ("approve the bank transfer", "refund to the original card instead", "decline"),
        (("irreversible", Operator.IS_TRUE, None),),
    ),
    _PointSpec(
        "refunds",
        "large-refund",
        "Large refund",
        "Refunds above 500.00 need a senior reviewer: check for repeat claims and whether a "
        "partial refund or a replacement fits better.",
        SENIOR_LEVEL,
        480,
        Priority.HIGH,
        (*REFUND_OPTIONS, "offer a replacement"),
        (("amount", Operator.GT, 500),),
    ),
    _PointSpec(
        "refunds",
        "emotional-customer",
        "Upset customer",
        "The customer is angry or distressed. Read the whole conversation and make sure the "
        "reply sounds like a person who listened, not a template.",
        REVIEWER_LEVEL,
        60,
        Priority.HIGH,
        ("send the proposed reply", "edit the reply", "call the customer back"),
        (("sentiment", Operator.LT, -0.5),),
    ),
    _PointSpec(
        "billing-disputes",
        "policy-language",
        "Policy or legal language",
        "The customer mentions a chargeback, legal action, the ombudsman or cancelling the "
        "contract: what we say now can become a commitment.",
        REVIEWER_LEVEL,
        120,
        Priority.HIGH,
        BILLING_OPTIONS,
        (
            (
                "policy_terms",
                Operator.CONTAINS_ANY,
                ["chargeback", "legal action", "ombudsman", "cancel contract"],
            ),
        ),
    ),
    _PointSpec(
        "billing-disputes",
        "low-confidence",
        "Low confidence on a billing answer",
        "The assistant could not match the disputed charge to the invoice lines with "
        "confidence: check the invoice before anything is credited or refused.",
        REVIEWER_LEVEL,
        240,
        Priority.NORMAL,
        (*BILLING_OPTIONS, "ask for the invoice"),
        (("confidence", Operator.LT, 0.7),),
    ),
    _PointSpec(
        "identity-verification",
        "identity-fraud-combination",
        "Identity mismatch on an account with recent fraud attempts",
        "The details given do not match the account AND the account saw fraud attempts "
        "recently. Either signal alone is handled automatically; together they need two team "
        "leads to agree.",
        LEAD_LEVEL,
        90,
        Priority.URGENT,
        (
            "verify and proceed",
            "request video identification",
            "lock the account and refer to the fraud team",
        ),
        (
            ("identity_mismatch", Operator.IS_TRUE, None),
            ("recent_fraud_attempts", Operator.GTE, 1),
        ),
        combinator=Combinator.ALL,
        four_eyes=True,
    ),
)


def _judgement_points(run: _Run) -> None:
    """Create missing points with their conditions; an existing point is left as it is."""
    manager = run.users["manager"]
    for spec in POINTS:
        journey = run.journeys[spec.journey]
        point = JudgementPoint.objects.filter(journey=journey, slug=spec.slug).first()
        if point is not None:
            run.result.count("judgement points", created=False)
            run.result.count("trigger conditions", created=False, number=point.conditions.count())
            run.points[spec.journey, spec.slug] = point
            continue
        point = JudgementPoint(
            journey=journey,
            slug=spec.slug,
            name=spec.name,
            description=spec.description,
            combinator=spec.combinator,
            required_level=run.levels[spec.level],
            sla_minutes=spec.sla_minutes,
            four_eyes=spec.four_eyes,
            options=list(spec.options),
            priority=spec.priority,
        )
        point.full_clean()
        point._history_date = run.set_up_at  # in force before any case of the story
        save_judgement_point(point=point, changed_by=manager)
        run.result.count("judgement points", created=True)
        for position, (signal, operator, value) in enumerate(spec.conditions):
            condition = TriggerCondition(
                judgement_point=point,
                signal=signal,
                operator=operator,
                value=value,
                position=position,
            )
            condition.full_clean()
            condition._history_user = manager
            condition._history_date = run.set_up_at
            condition.save()
            run.result.count("trigger conditions", created=True)
        run.points[spec.journey, spec.slug] = point


OVERRIDE_REASONS = (
    ("policy-exception", "Policy exception", "A documented exception to policy applies."),
    (
        "customer-context-missed",
        "Customer context missed",
        "The assistant missed something about the customer or the order history.",
    ),
    ("ai-factual-error", "Factual error by the AI", "The proposal states something untrue."),
    (
        "tone-inappropriate",
        "Inappropriate tone",
        "The content was right but the wording would upset or mislead the customer.",
    ),
    ("fraud-suspected", "Fraud suspected", "The request looks like an attempt at fraud."),
)


def _override_reasons(run: _Run) -> None:
    for code, label, description in OVERRIDE_REASONS:
        run.reasons[code], _ = _ensure(
            run,
            "override reasons",
            OverrideReason,
            lookup={"code": code},
            defaults={"label": label, "description": description},
            by=run.users["manager"],
            history_date=run.set_up_at,
        )
