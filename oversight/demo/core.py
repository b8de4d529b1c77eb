"""Demo data: Lumen Home, an online electronics retailer whose support assistant is overseen.

`seed_demo()` builds one coherent story: the people and their roles, the AI system and three
journeys, authority levels, judgement points with their triggers, training on file, grants of
authority, and cases in every state with the gate evaluations, decisions and outcomes behind
them. The management command `seed_demo` calls it; the README lists `DEMO_LOGINS`.

Running it twice creates nothing the second time: every record is looked up first by a natural
key (username, slug, level name, reason code, module slug and version) or by a fixed UUID
derived from `DEMO_NAMESPACE`. Records that already exist are never changed, so a demo that
people have been clicking through keeps their work. Audit events are appended only for records
created in this run.
"""

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone
from guardian.conf import settings as guardian_settings

from audit.services.ledger import Actor, append_event
from literacy.expiry import add_months
from literacy.models import (
    Topic,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingRequirement,
)
from literacy.services.completions import record_completion
from oversight.demo.records import demo_id, save_dated
from oversight.demo.story import summarise_gate_days, tell_the_story
from oversight.models import (
    AISystem,
    AISystemUserObjectPermission,
    AuthorityGrant,
    AuthorityLevel,
    Case,
    CaseStatus,
    Combinator,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateEvaluation,
    Journey,
    JudgementPoint,
    Operator,
    Outcome,
    OverrideReason,
    Priority,
    RiskCategory,
    Route,
    RouteReason,
    TriggerCondition,
)
from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER, TRAINER
from oversight.services.authority import (
    MANAGE_AI_SYSTEM,
    assign_manager,
    sync_authority_permissions,
)
from oversight.services.configuration import save_judgement_point
from oversight.services.gate import GateRequest, ProposedAction, server_signals
from oversight.services.triggers import evaluate_trigger

SYSTEM_SLUG = "support-assistant"
CURRENCY = "GBP"
EMAIL_DOMAIN = "lumenhome.example"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    full_name: str
    groups: tuple[str, ...] = ()
    is_superuser: bool = False


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "demo-admin-2026", "Administrator (superuser)", "Alex Morgan", (), True),
    DemoLogin("reviewer", "demo-reviewer-2026", "Reviewer", "Amira Haddad", (REVIEWER,)),
    DemoLogin("senior", "demo-senior-2026", "Senior reviewer", "Daniel Okafor", (REVIEWER,)),
    DemoLogin(
        "lead",
        "demo-lead-2026",
        "Team lead (reviewer and manager)",
        "Sofia Lindqvist",
        (REVIEWER, MANAGER),
    ),
    DemoLogin("manager", "demo-manager-2026", "Manager", "Mark Ellison", (MANAGER,)),
    DemoLogin(
        "compliance",
        "demo-compliance-2026",
        "Compliance officer",
        "Hannah Weber",
        (COMPLIANCE_OFFICER,),
    ),
    DemoLogin("trainer", "demo-trainer-2026", "Trainer", "Leo Brennan", (TRAINER,)),
)
DEMO_USERNAMES = frozenset(login.username for login in DEMO_LOGINS)

# Authority level names, used as natural keys.
REVIEWER_LEVEL = "Reviewer"
SENIOR_LEVEL = "Senior reviewer"
LEAD_LEVEL = "Team lead"


class ForeignDataError(Exception):
    """The database holds data that is not demo data; nothing was changed."""

    def __init__(self, findings: list[str]):
        super().__init__("; ".join(findings))
        self.findings = findings


@dataclass
class Tally:
    created: int = 0
    found: int = 0


@dataclass
class SeedResult:
    """What a run created and what it found already there, per kind of record."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    # Demo usernames that existed already with a password other than the demo one.
    changed_passwords: list[str] = field(default_factory=list)

    def count(self, kind: str, *, created: bool, number: int = 1) -> None:
        tally = self.tallies.setdefault(kind, Tally())
        if created:
            tally.created += number
        else:
            tally.found += number

    @property
    def created_anything(self) -> bool:
        return any(tally.created for tally in self.tallies.values())


@dataclass
class _Run:
    """The records of one run, by natural key, so later steps can refer to earlier ones."""

    now: datetime.datetime
    today: datetime.date
    result: SeedResult
    # When the system and its rules were set up in the story: before the oldest grant, so no
    # rule is "in force from" after a decision taken under it.
    set_up_at: datetime.datetime | None = None
    users: dict = field(default_factory=dict)
    system: AISystem | None = None
    journeys: dict[str, Journey] = field(default_factory=dict)
    levels: dict[str, AuthorityLevel] = field(default_factory=dict)
    points: dict[tuple[str, str], JudgementPoint] = field(default_factory=dict)
    reasons: dict[str, OverrideReason] = field(default_factory=dict)
    versions: dict[str, TrainingModuleVersion] = field(default_factory=dict)
    grants: dict[str, AuthorityGrant] = field(default_factory=dict)


# The story's configuration (system, journeys, levels, rules, reasons) dates from this many days
# before the run: earlier than every grant (the oldest is 100 days old) and every case.
SET_UP_DAYS_AGO = 101


def foreign_data() -> list[str]:
    """Describe what in the database is not demo data; an empty list means demo data only.

    django-guardian's anonymous user is created by migrations and does not count.
    """
    findings = []
    other_users = sorted(
        get_user_model()
        .objects.exclude(username__in=DEMO_USERNAMES)
        .exclude(username=guardian_settings.ANONYMOUS_USER_NAME)
        .values_list("username", flat=True)
    )
    if other_users:
        findings.append(f"{len(other_users)} other user(s): {_sample(other_users)}")
    other_systems = sorted(
        AISystem.objects.exclude(slug=SYSTEM_SLUG).values_list("slug", flat=True)
    )
    if other_systems:
        findings.append(f"{len(other_systems)} other AI system(s): {_sample(other_systems)}")
    return findings


def _sample(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def seed_demo(*, force: bool = False) -> SeedResult:
    """Create whatever demo data is missing, in one transaction.

    Refuses (ForeignDataError, nothing changed) when the database holds users or AI systems that
    are not the demo's, unless `force` is set: then the demo data is added alongside.
    """
    now = timezone.now()
    run = _Run(
        now=now,
        today=timezone.localdate(now),
        result=SeedResult(),
        set_up_at=now - datetime.timedelta(days=SET_UP_DAYS_AGO),
    )
    with transaction.atomic():
        findings = foreign_data()
        if findings and not force:
            raise ForeignDataError(findings)
        _users(run)
        _ai_system(run)
        _journeys(run)
        # Before the judgement points: only a manager of the system configures them.
        _managers(run)
        _authority_levels(run)
        _judgement_points(run)
        _override_reasons(run)
        _training(run)
        _grants(run)
        tell_the_story(run)
        _cases(run)
        _automated_evaluations(run)
        if run.result.created_anything:
            summarise_gate_days(run)
            append_event(
                actor=Actor.system("seed_demo"),
                action="demo.seeded",
                obj=run.system,
                payload={
                    kind: tally.created
                    for kind, tally in run.result.tallies.items()
                    if tally.created
                },
            )
    return run.result


def _ensure(
    run: _Run,
    kind: str,
    model: type[models.Model],
    *,
    lookup: dict,
    defaults: dict,
    by,
    unvalidated: tuple[str, ...] = (),
    history_date: datetime.datetime | None = None,
) -> tuple[models.Model, bool]:
    """The record matching `lookup`, or a new, validated one saved with `by` as history user
    (and `history_date` as the time of its history row, for records the story dates back)."""
    existing = model.objects.filter(**lookup).first()
    if existing is not None:
        run.result.count(kind, created=False)
        return existing, False
    record = model(**lookup, **defaults)
    record.full_clean(exclude=unvalidated)
    record._history_user = by
    if history_date is not None:
        record._history_date = history_date
    record.save()
    run.result.count(kind, created=True)
    return record, True


# People ---------------------------------------------------------------------------------------


def _users(run: _Run) -> None:
    User = get_user_model()
    for login in DEMO_LOGINS:
        user = User.objects.filter(username=login.username).first()
        if user is not None:
            run.result.count("users", created=False)
            if not user.check_password(login.password):
                run.result.changed_passwords.append(login.username)
        else:
            first_name, last_name = login.full_name.split(" ", 1)
            user = User(
                username=login.username,
                email=f"{login.username}@{EMAIL_DOMAIN}",
                first_name=first_name,
                last_name=last_name,
                is_staff=True,
                is_superuser=login.is_superuser,
            )
            user.set_password(login.password)
            user.save()
            user.groups.set([Group.objects.get(name=name) for name in login.groups])
            run.result.count("users", created=True)
        run.users[login.username] = user


# The AI system and its journeys ---------------------------------------------------------------


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


# Training -------------------------------------------------------------------------------------

MODULES = (
    {
        "slug": "ai-literacy-basics",
        "title": "AI literacy basics",
        "topics": [
            Topic.CAPABILITIES_AND_LIMITS,
            Topic.AUTOMATION_BIAS,
            Topic.INTERPRETING_OUTPUTS,
        ],
        "audience": (REVIEWER, MANAGER, COMPLIANCE_OFFICER),
        "summary": "What a language-model assistant can and cannot do, why a confident answer "
        "can still be wrong, and how to read confidence scores and their reasons.",
        "validity_months": 12,
        "published_on": datetime.date(2026, 1, 12),
    },
    {
        "slug": "overriding-the-support-assistant",
        "title": "Overriding the support assistant",
        "topics": [Topic.OVERRIDING, Topic.ESCALATION_AND_STOP, Topic.INTERPRETING_OUTPUTS],
        "audience": (REVIEWER,),
        "summary": "When to overrule the assistant, how to record a reason and a rationale, "
        "when to escalate, and how to pause a journey with the stop button.",
        "validity_months": 12,
        "published_on": datetime.date(2026, 2, 2),
    },
    {
        "slug": "data-protection-for-reviewers",
        "title": "Data protection for reviewers",
        "topics": [Topic.DATA_PROTECTION],
        "audience": (REVIEWER,),
        "summary": "Personal data in cases and drafts: what a reviewer may look at, copy and "
        "send, and what to do when a draft reply contains someone else's details.",
        "validity_months": 6,
        "published_on": datetime.date(2026, 1, 19),
    },
)

# Which modules each level must have current.
REQUIREMENTS = {
    REVIEWER_LEVEL: ("ai-literacy-basics", "data-protection-for-reviewers"),
    SENIOR_LEVEL: (
        "ai-literacy-basics",
        "data-protection-for-reviewers",
        "overriding-the-support-assistant",
    ),
    LEAD_LEVEL: (
        "ai-literacy-basics",
        "data-protection-for-reviewers",
        "overriding-the-support-assistant",
    ),
}

# (username, module slug, days ago, score). The reviewer failed the override course, which is
# why they hold no level that may override; their data-protection refresher is about to expire.
COMPLETIONS = (
    ("reviewer", "ai-literacy-basics", 100, "92"),
    ("reviewer", "overriding-the-support-assistant", 40, "72"),
    ("senior", "ai-literacy-basics", 120, "95"),
    ("senior", "overriding-the-support-assistant", 110, "86"),
    ("lead", "ai-literacy-basics", 130, "97"),
    ("lead", "data-protection-for-reviewers", 125, "91"),
    ("lead", "overriding-the-support-assistant", 120, "94"),
    # The manager holds the top level themselves (the ceiling for the grants they give), so
    # they hold its training too, from before their own grant.
    ("manager", "ai-literacy-basics", 140, "85"),
    ("manager", "data-protection-for-reviewers", 135, "88"),
    ("manager", "overriding-the-support-assistant", 130, "90"),
    ("compliance", "ai-literacy-basics", 50, "90"),
)
EXPIRING_COMPLETION = ("reviewer", "data-protection-for-reviewers", "88")
EXPIRING_IN_DAYS = 19
# (username, module slug, lapsed days ago, renewed days ago, scores): training that ran out
# during the story and was renewed. The senior reviewer decided nothing in between
# (oversight.demo.story asks for current training before anyone decides).
LAPSED_AND_RENEWED = (("senior", "data-protection-for-reviewers", 45, 33, ("90", "93")),)


def _training(run: _Run) -> None:
    _modules(run)
    _training_requirements(run)
    _completions(run)


def _modules(run: _Run) -> None:
    trainer = run.users["trainer"]
    for values in MODULES:
        module, created = _ensure(
            run,
            "training modules",
            TrainingModule,
            lookup={"slug": values["slug"]},
            defaults={"title": values["title"], "topics": list(values["topics"])},
            by=trainer,
        )
        if created:
            module.audience.set(Group.objects.filter(name__in=values["audience"]))
        run.versions[values["slug"]], _ = _ensure(
            run,
            "training module versions",
            TrainingModuleVersion,
            lookup={"module": module, "version": 1},
            defaults={
                "summary": values["summary"],
                "validity_months": values["validity_months"],
                "pass_mark": 80,
                "published_on": values["published_on"],
            },
            by=trainer,
        )


def _training_requirements(run: _Run) -> None:
    for level_name, slugs in REQUIREMENTS.items():
        for slug in slugs:
            _ensure(
                run,
                "training requirements",
                TrainingRequirement,
                lookup={
                    "module": run.versions[slug].module,
                    "authority_level": run.levels[level_name],
                },
                defaults={},
                by=run.users["trainer"],
            )


def _completions(run: _Run) -> None:
    """Record completions through the literacy service, which derives expiry and audits them."""
    planned = [
        (username, slug, run.today - datetime.timedelta(days=days_ago), score)
        for username, slug, days_ago, score in COMPLETIONS
    ]
    username, slug, score = EXPIRING_COMPLETION
    validity = run.versions[slug].validity_months
    expires = run.today + datetime.timedelta(days=EXPIRING_IN_DAYS)
    planned.append((username, slug, add_months(expires, -validity), score))
    for username, slug, lapsed, renewed, (first_score, renewal_score) in LAPSED_AND_RENEWED:
        lapsed_on = run.today - datetime.timedelta(days=lapsed)
        validity = run.versions[slug].validity_months
        planned.append((username, slug, add_months(lapsed_on, -validity), first_score))
        planned.append(
            (username, slug, run.today - datetime.timedelta(days=renewed), renewal_score)
        )
    for username, slug, completed_on, score in planned:
        user, version = run.users[username], run.versions[slug]
        if TrainingCompletion.objects.filter(
            user=user, module_version=version, completed_on=completed_on
        ).exists():
            run.result.count("training completions", created=False)
            continue
        record_completion(
            user=user,
            module_version=version,
            completed_on=completed_on,
            recorded_by=run.users["trainer"],
            score=Decimal(score),
        )
        run.result.count("training completions", created=True)


# Authority grants -----------------------------------------------------------------------------

# key: (username, level, scope: a journey slug or None for the whole AI system, days ago, why).
# The manager gives every grant but their own, which the administrator gave: nobody grants to
# themselves, and a manager never gives a level above the one they hold on the scope.
GRANTS = {
    "manager-system": (
        "manager",
        LEAD_LEVEL,
        None,
        100,
        "Owner of the support assistant: manages authority on it and may step in on any case.",
    ),
    "reviewer-refunds": (
        "reviewer",
        REVIEWER_LEVEL,
        "refunds",
        90,
        "Handles the refunds queue on the early shift; basics and data protection completed.",
    ),
    "reviewer-billing": (
        "reviewer",
        REVIEWER_LEVEL,
        "billing-disputes",
        90,
        "Covers billing disputes on Mondays and Thursdays.",
    ),
    "senior-system": (
        "senior",
        SENIOR_LEVEL,
        None,
        90,
        "Senior agent for every journey of the assistant; passed the override course.",
    ),
    "lead-system": (
        "lead",
        LEAD_LEVEL,
        None,
        90,
        "Team lead for customer support: final say on irreversible and large refunds.",
    ),
    # Four-eyes cases need two different team leads; the senior agent is the fraud specialist.
    "senior-identity": (
        "senior",
        LEAD_LEVEL,
        "identity-verification",
        30,
        "Fraud specialist: second reviewer for identity-verification four-eyes checks.",
    ),
}


GRANTED_BY_ADMIN = {"manager-system"}
# Managers of authority on the AI system (object permission, given by the administrator).
MANAGERS = ("manager", "lead")


def _grants(run: _Run) -> None:
    """Grants dated back in the story; their history rows carry the same date, so the authority
    register for a past day shows them, and the holders' guardian permissions follow."""
    for key, (username, level_name, journey_slug, days_ago, justification) in GRANTS.items():
        granter = run.users["admin" if key in GRANTED_BY_ADMIN else "manager"]
        valid_from = run.now - datetime.timedelta(days=days_ago)
        scope = (
            {"journey": run.journeys[journey_slug], "ai_system": None}
            if journey_slug
            else {"ai_system": run.system, "journey": None}
        )
        grant, created = _ensure(
            run,
            "authority grants",
            AuthorityGrant,
            lookup={"id": demo_id(f"grant:{key}")},
            defaults={
                "user": run.users[username],
                "level": run.levels[level_name],
                **scope,
                "valid_from": valid_from,
                "justification": justification,
                "granted_by": granter,
            },
            by=granter,
            history_date=valid_from,
        )
        if created:
            append_event(
                actor=Actor.for_user(granter),
                action="grant.created",
                obj=grant,
                payload={
                    "user": username,
                    "level": level_name,
                    "scope": str(grant.journey or grant.ai_system),
                    "valid_from": grant.valid_from,
                    "valid_until": grant.valid_until,
                    "justification": justification,
                },
            )
        run.grants[key] = grant
    for username in sorted({username for username, *_ in GRANTS.values()}):
        sync_authority_permissions(user=run.users[username], now=run.now)


def _managers(run: _Run) -> None:
    for username in MANAGERS:
        user = run.users[username]
        if AISystemUserObjectPermission.objects.filter(
            user=user, content_object=run.system, permission__codename=MANAGE_AI_SYSTEM
        ).exists():
            run.result.count("managers of authority", created=False)
            continue
        assign_manager(assigned_by=run.users["admin"], manager=user, ai_system=run.system)
        run.result.count("managers of authority", created=True)


# Gate evaluations, cases, decisions, outcomes -------------------------------------------------


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
