"""Cases (work for a human), the decisions taken on them, and the outcomes reported later."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from audit.history import EvidenceHistory
from oversight.models.authority import AuthorityGrant, AuthorityLevel
from oversight.models.gate import GateEvaluation
from oversight.models.judgement import JudgementPoint, Priority
from oversight.models.systems import AISystem, Journey
from oversight.models.validators import validate_callback_url


class RouteReason(models.TextChoices):
    TRIGGER = "trigger", "A judgement point fired"
    SAMPLE_AUDIT = "sample_audit", "Sample audit"
    CUSTOMER_REQUESTED_HUMAN = "customer_requested_human", "Customer asked for a human"
    SYSTEM_UNSURE = "system_unsure", "The system asked for help"
    AUTOMATION_PAUSED = "automation_paused", "Automation is paused"
    SHADOW = "shadow", "Shadow mode (the AI's proposal is measured, a person decides)"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    AWAITING_SECOND_REVIEW = "awaiting_second_review", "Awaiting second review"
    ESCALATED = "escalated", "Escalated"
    DECIDED = "decided", "Decided"


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by (journey, status) below; a case opening writes every index (issue #17).
    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    evaluation = models.OneToOneField(
        GateEvaluation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case",
        help_text="The gate call that opened this case, if any.",
    )
    judgement_points = models.ManyToManyField(
        JudgementPoint, blank=True, related_name="cases", help_text="The points that fired."
    )
    route_reason = models.CharField(max_length=32, choices=RouteReason.choices)
    status = models.CharField(  # indexed by (status, sla_deadline) below
        max_length=32, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    required_level = models.ForeignKey(
        AuthorityLevel,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The lowest authority level that may decide this case now.",
    )
    four_eyes = models.BooleanField(default=False)
    context = models.JSONField(default=dict, blank=True, help_text="What the system saw.")
    proposal = models.JSONField(
        default=dict, blank=True, help_text="What the system intended to do or say."
    )
    action_type = models.CharField(max_length=100, blank=True)
    irreversible = models.BooleanField(default=False)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    confidence = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    confidence_reasons = models.JSONField(
        default=list, blank=True, help_text="Why confidence dropped, as the system explained."
    )
    options = models.JSONField(
        default=list, blank=True, help_text="What a reviewer may choose from now."
    )
    subject_ref = models.CharField(  # indexed below, for equality only
        max_length=128, blank=True, help_text="Pseudonymous customer reference."
    )
    callback_url = models.URLField(max_length=500, blank=True, validators=[validate_callback_url])
    sla_deadline = models.DateTimeField()
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claimed_cases",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    review_round = models.PositiveSmallIntegerField(
        default=1, help_text="Goes up by one with each escalation."
    )
    escalation_note = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The history is read by case (`id`) and time; the other columns' indexes were only ever
    # written, on every case opening and every change of a case (issue #17).
    history = EvidenceHistory(
        excluded_fields=["updated_at"],
        no_db_index=["opened_at", "claimed_by", "evaluation", "required_level", "journey"],
    )

    class Meta:
        ordering = ["sla_deadline", "-priority"]
        indexes = [
            models.Index(fields=["status", "sla_deadline"]),
            models.Index(fields=["journey", "status"]),
            # A plain btree: `db_index=True` would add a second, pattern-ops index on PostgreSQL
            # for LIKE 'x%' lookups, which nothing makes.
            models.Index(fields=["subject_ref"], name="case_subject_ref"),
            # The decided cases of a period, read from the index alone on PostgreSQL (time to
            # decision, calibration by confidence: issue #17, 10M gate calls).
            models.Index(
                fields=["decided_at"],
                include=["opened_at", "confidence", "journey"],
                condition=Q(status=CaseStatus.DECIDED),
                name="case_decided_at_covering",
            ),
            # The cases whose SLA was breached in a period (few), without reading the others.
            models.Index(
                fields=["sla_breached_at"],
                condition=Q(sla_breached_at__isnull=False),
                name="case_sla_breached_at",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="case_confidence_0_1",
                violation_error_message="Confidence must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.DECIDED) | Q(decided_at__isnull=False),
                name="case_decided_has_time",
                violation_error_message="A decided case needs the time it was decided.",
            ),
            models.CheckConstraint(
                condition=(Q(claimed_by__isnull=True) & Q(claim_expires_at__isnull=True))
                | (Q(claimed_by__isnull=False) & Q(claim_expires_at__isnull=False)),
                name="case_claim_has_expiry",
                violation_error_message="A claim needs a holder and an expiry time.",
            ),
            models.CheckConstraint(
                condition=Q(review_round__gte=1), name="case_review_round_positive"
            ),
        ]
        permissions = [
            (
                "view_all_cases",
                "Can see every case (managers, compliance), not only those one may decide",
            )
        ]

    def __str__(self) -> str:
        return f"Case {str(self.id)[:8]} — {self.journey.name} ({self.get_status_display()})"

    @property
    def is_handover(self) -> bool:
        """The customer asked for a person and the AI system proposed nothing: a hand-over."""
        return self.route_reason == RouteReason.CUSTOMER_REQUESTED_HUMAN and not self.action_type

    @property
    def ai_system(self) -> AISystem:
        return self.journey.ai_system


class OverrideReason(models.Model):
    """The managed list of reason categories a reviewer picks when overriding the AI."""

    code = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive reasons are not offered.")
    history = EvidenceHistory()

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", "Approve the proposal"
    MODIFY = "modify", "Modify the proposal"
    REJECT = "reject", "Reject the proposal"
    ESCALATE = "escalate", "Escalate to a higher authority"
    AGREE = "agree", "Agree with what the automation did (sample audit)"
    DISAGREE = "disagree", "Disagree with what the automation did (sample audit)"


class DecisionStage(models.TextChoices):
    FIRST = "first", "First review"
    SECOND = "second", "Second review (four eyes)"


class Decision(models.Model):
    """A reviewer's judgement on a case, with the authority they held at that moment.

    Per review round a case has at most one first and one second decision, by different people;
    an escalation closes the round and the case is decided afresh at a higher level.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    review_round = models.PositiveSmallIntegerField(default=1)
    stage = models.CharField(
        max_length=8, choices=DecisionStage.choices, default=DecisionStage.FIRST
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField(max_length=16, choices=DecisionOutcome.choices)
    final_action = models.JSONField(
        null=True, blank=True, help_text="The action that stands after this decision."
    )
    is_override = models.BooleanField(
        default=False, help_text="The decision differs from what the AI proposed."
    )
    override_reason = models.ForeignKey(
        OverrideReason, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    rationale = models.TextField(blank=True)
    authority_level = models.ForeignKey(
        AuthorityLevel,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The level the reviewer held on this journey when deciding.",
    )
    grant = models.ForeignKey(
        AuthorityGrant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        help_text="The grant that gave that authority.",
    )
    time_spent_seconds = models.PositiveIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["case", "review_round", "decided_at"]
        indexes = [
            # The overridden cases (calibration by confidence), without reading every decision.
            models.Index(
                fields=["case"], condition=Q(is_override=True), name="decision_override_case"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "review_round", "stage"],
                name="decision_once_per_stage",
                violation_error_message="This case has already been decided at this stage.",
            ),
            models.UniqueConstraint(
                fields=["case", "review_round", "reviewer"],
                name="decision_four_eyes_different_people",
                violation_error_message="The second review must be by a different person.",
            ),
            models.CheckConstraint(
                condition=Q(is_override=False)
                | (Q(override_reason__isnull=False) & ~Q(rationale="")),
                name="decision_override_needs_reason_and_rationale",
                violation_error_message="An override needs a reason category and a rationale.",
            ),
            models.CheckConstraint(
                condition=Q(review_round__gte=1), name="decision_review_round_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.reviewer} on {self.case}"


class Outcome(models.Model):
    """Later signals about a result: customer effort, repeat contact, complaint, reversal."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    evaluation = models.ForeignKey(
        GateEvaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="outcomes"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="outcomes"
    )
    customer_effort = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text="Customer effort score, 1 (very easy) to 7 (very hard).",
    )
    repeat_contact = models.BooleanField(null=True, blank=True)
    complaint = models.BooleanField(null=True, blank=True)
    reversed = models.BooleanField(null=True, blank=True)
    note = models.TextField(blank=True)
    reported_at = models.DateTimeField(default=timezone.now, db_index=True)
    reported_by = models.ForeignKey(
        AISystem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = EvidenceHistory()

    class Meta:
        ordering = ["-reported_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(evaluation__isnull=False) | Q(case__isnull=False),
                name="outcome_has_subject",
                violation_error_message="An outcome belongs to a gate evaluation or a case.",
            ),
            models.CheckConstraint(
                condition=Q(customer_effort__isnull=True)
                | (Q(customer_effort__gte=1) & Q(customer_effort__lte=7)),
                name="outcome_effort_1_7",
                violation_error_message="Customer effort must be between 1 and 7.",
            ),
        ]

    def __str__(self) -> str:
        return f"Outcome {str(self.id)[:8]}"
