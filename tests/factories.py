"""factory_boy factories for every model tests need; realistic defaults, override per test."""

import datetime
import hashlib
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import AuditEvent
from literacy.expiry import add_months
from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingReminder,
    TrainingRequirement,
)
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    AutomationState,
    Case,
    Decision,
    GateEvaluation,
    Guardrail,
    GuardrailEvaluation,
    GuardrailKind,
    Journey,
    JudgementPoint,
    Outcome,
    OverrideReason,
    Route,
    RouteReason,
    TriggerCondition,
)
from oversight.services.authority import sync_authority_permissions


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffUserFactory(UserFactory):
    is_staff = True


class SuperUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class AISystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AISystem

    slug = factory.Sequence(lambda n: f"system-{n}")
    name = factory.Sequence(lambda n: f"System {n}")
    provider = "Acme AI"
    intended_purpose = "Answers customer questions and proposes refunds."


class JourneyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journey

    ai_system = factory.SubFactory(AISystemFactory)
    slug = factory.Sequence(lambda n: f"journey-{n}")
    name = factory.Sequence(lambda n: f"Journey {n}")
    # Live, so tests of the gate, cases and guardrails exercise automation; the model's own
    # default (a new journey starts in shadow) is tested in tests/oversight/test_golive.py.
    automation_state = AutomationState.RUNNING


class AuthorityLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthorityLevel

    name = factory.Sequence(lambda n: f"Level {n}")
    rank = factory.Sequence(lambda n: n + 1)
    may_decide = True


class JudgementPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JudgementPoint

    journey = factory.SubFactory(JourneyFactory)
    slug = factory.Sequence(lambda n: f"point-{n}")
    name = factory.Sequence(lambda n: f"Judgement point {n}")
    required_level = factory.SubFactory(AuthorityLevelFactory)


class TriggerConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TriggerCondition

    judgement_point = factory.SubFactory(JudgementPointFactory)
    signal = "confidence"
    operator = "lt"
    value = 0.7


class AuthorityGrantFactory(factory.django.DjangoModelFactory):
    """A grant saved directly; the holder's guardian permissions follow as the authority service
    would make them. `sync_permissions=False` leaves them out of step on purpose."""

    class Meta:
        model = AuthorityGrant
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    level = factory.SubFactory(AuthorityLevelFactory)
    journey = factory.SubFactory(JourneyFactory)
    ai_system = None
    valid_from = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    justification = "Handles this journey's queue."

    @factory.post_generation
    def sync_permissions(grant, create, extracted, **kwargs):
        if create and extracted is not False:
            sync_authority_permissions(user=grant.user)


class GateEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GateEvaluation

    journey = factory.SubFactory(JourneyFactory)
    ai_system = factory.SelfAttribute("journey.ai_system")
    action_type = "refund"
    signals = factory.LazyFunction(lambda: {"confidence": 0.55})
    route = Route.HUMAN


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    journey = factory.SubFactory(JourneyFactory)
    route_reason = RouteReason.TRIGGER
    required_level = factory.SubFactory(AuthorityLevelFactory)
    context = factory.LazyFunction(lambda: {"order_id": "A-1001", "customer_tier": "gold"})
    proposal = factory.LazyFunction(lambda: {"reply": "We will refund you in full."})
    action_type = "refund"
    amount = Decimal("49.90")
    currency = "EUR"
    confidence = 0.55
    options = factory.LazyFunction(lambda: ["approve", "modify", "reject"])
    subject_ref = factory.Sequence(lambda n: f"cust-{n:05d}")
    sla_deadline = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=4))


class OverrideReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OverrideReason
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"reason-{n}")
    label = factory.Sequence(lambda n: f"Reason {n}")


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Decision

    case = factory.SubFactory(CaseFactory)
    reviewer = factory.SubFactory(UserFactory)
    outcome = "approve"
    authority_level = factory.SelfAttribute("case.required_level")


class GuardrailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardrail

    journey = factory.SubFactory(JourneyFactory)
    kind = GuardrailKind.OVERRIDE_RATE_MAX
    threshold = Decimal("0.3")
    window = 50
    min_sample = 10


class GuardrailEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuardrailEvaluation

    guardrail = factory.SubFactory(GuardrailFactory)
    value = 0.1
    sample_size = 50
    threshold = factory.SelfAttribute("guardrail.threshold")


class OutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outcome

    case = factory.SubFactory(CaseFactory)
    customer_effort = 3


class TrainingModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingModule

    slug = factory.Sequence(lambda n: f"module-{n}")
    title = factory.Sequence(lambda n: f"Module {n}")
    topics = factory.LazyFunction(lambda: ["automation_bias", "overriding"])


class TrainingModuleVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingModuleVersion

    module = factory.SubFactory(TrainingModuleFactory)
    version = 1
    summary = "What the system can and cannot do, and when to step in."
    validity_months = 12
    pass_mark = 80
    published_on = factory.LazyFunction(lambda: datetime.date(2026, 1, 1))


class TrainingCompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingCompletion

    user = factory.SubFactory(UserFactory)
    module_version = factory.SubFactory(TrainingModuleVersionFactory)
    completed_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    score = Decimal("90")
    passed = True
    expires_on = factory.LazyAttribute(
        lambda c: add_months(c.completed_on, c.module_version.validity_months)
    )


class TrainingRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRequirement

    module = factory.SubFactory(TrainingModuleFactory)
    authority_level = factory.SubFactory(AuthorityLevelFactory)
    group = None


class SystemBriefingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SystemBriefing

    ai_system = factory.SubFactory(AISystemFactory)
    version = 1
    capabilities = "Proposes refunds up to 200 EUR from the order history."
    limitations = "Cannot see phone conversations; misreads sarcasm."
    instructions_for_use = "Check the order before approving; escalate fraud signals."
    stop_procedure = "Pause the journey from its admin page; cases then all come to people."
    published_on = factory.LazyFunction(lambda: datetime.date(2026, 1, 1))
    published_by = factory.SubFactory(UserFactory)


class BriefingAcknowledgementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BriefingAcknowledgement

    user = factory.SubFactory(UserFactory)
    briefing = factory.SubFactory(SystemBriefingFactory)
    acknowledged_at = factory.LazyFunction(timezone.now)


class BriefingRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BriefingRequirement

    authority_level = factory.SubFactory(AuthorityLevelFactory)
    ai_system = factory.SubFactory(AISystemFactory)


class TrainingReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingReminder

    completion = factory.SubFactory(TrainingCompletionFactory)
    threshold_days = 30
    sent_at = factory.LazyFunction(timezone.now)
    recipients = factory.LazyFunction(lambda: ["learner@example.com"])


class ReportRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oversight.ReportRequest"

    kind = "authority"
    params = factory.LazyFunction(lambda: {"as_of": "2026-01-31"})
    requested_by = factory.SubFactory(UserFactory)
    requested_via = "admin"


class IssuedReportFactory(factory.django.DjangoModelFactory):
    """An issued report with small stand-in bytes (not a real PDF) and their true SHA-256."""

    class Meta:
        model = "oversight.IssuedReport"

    request = factory.SubFactory(ReportRequestFactory, status="done", progress=100)
    id = factory.LazyAttribute(lambda report: report.request.report_id)
    kind = factory.LazyAttribute(lambda report: report.request.kind)
    params = factory.LazyAttribute(lambda report: report.request.params)
    title = "Authority register"
    subtitle = "as of 2026-01-31"
    requested_by = factory.LazyAttribute(lambda report: report.request.requested_by)
    generated_at = factory.LazyFunction(timezone.now)
    content = factory.Sequence(lambda n: b"%PDF-1.7\n% stand-in report " + str(n).encode())
    size = factory.LazyAttribute(lambda report: len(report.content))
    sha256 = factory.LazyAttribute(lambda report: hashlib.sha256(report.content).hexdigest())
    page_count = 1
    data_sha256 = "d" * 64
    ledger_sequence = 0
    ledger_hash = "0" * 64


class IncidentFactory(factory.django.DjangoModelFactory):
    """A suspected incident as a row (tests of the services raise theirs through them)."""

    class Meta:
        model = "oversight.Incident"

    title = factory.Sequence(lambda n: f"Incident {n}")
    what_happened = "Refunds withheld"
    affected = "Some customers"
    ai_system = factory.SubFactory(AISystemFactory)
    source = "case"
    incident_class = "other"
    state = "suspected"
    became_aware_at = factory.LazyFunction(timezone.now)
    time_zone = "UTC"
    deadline = factory.LazyAttribute(lambda i: i.became_aware_at + datetime.timedelta(days=15))


def pending_event(n: int, **fields) -> AuditEvent:
    """An unsaved ledger event as `record_event` makes it (no place in the chain yet), for tests
    that write it themselves; `fields` override the defaults."""
    values = {
        "occurred_at": timezone.now(),
        "actor_type": "system",
        "actor_label": "test",
        "action": "test.together",
        "object_type": "test",
        "object_id": str(n),
        "payload": {"n": n},
        "prev_hash": "",
        **fields,
    }
    return AuditEvent(**values)
