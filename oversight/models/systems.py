"""AI systems under oversight and the customer journeys they automate."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from audit.history import EvidenceHistory
from oversight.models.validators import validate_key_list

RATE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(1)]


class RiskCategory(models.TextChoices):
    HIGH = "high", "High-risk (Annex III)"
    LIMITED = "limited", "Limited risk (transparency duties)"
    MINIMAL = "minimal", "Minimal risk"
    GPAI = "gpai", "General-purpose AI model"


class AISystem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(
        max_length=80, unique=True, help_text="Stable identifier used by the API and reports."
    )
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=200, help_text="Who builds or supplies the system.")
    intended_purpose = models.TextField(
        help_text="What the system is for, in the words of its instructions for use."
    )
    risk_category = models.CharField(
        max_length=16, choices=RiskCategory.choices, default=RiskCategory.HIGH
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_ai_systems",
        help_text="The person accountable for the system in this organisation.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive systems keep their records but their keys are refused."
    )
    webhook_secret_encrypted = models.TextField(
        blank=True,
        editable=False,
        help_text="Encrypted at rest; used to sign decision webhooks. Rotate it from the admin.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The secret stays out of history: old ciphertexts have no business in the record.
    history = EvidenceHistory(excluded_fields=["webhook_secret_encrypted"])

    class Meta:
        ordering = ["name"]
        verbose_name = "AI system"
        permissions = [("manage_authority_ai_system", "Can manage authority on this AI system")]

    def __str__(self) -> str:
        return self.name


class AutomationState(models.TextChoices):
    """Where a journey's gate calls go. The one stored source of its mode (`Journey.mode`)."""

    SHADOW = "shadow", "Shadow (every call to a person, the AI measured)"
    RUNNING = "running", "Running"
    PAUSED_BY_PERSON = "paused_by_person", "Paused by a person"
    PAUSED_BY_GUARDRAIL = "paused_by_guardrail", "Paused by a guardrail"


class JourneyMode(models.TextChoices):
    """The three modes a person sees, derived from the automation state."""

    SHADOW = "shadow", "Shadow"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"


PAUSED_STATES = (AutomationState.PAUSED_BY_PERSON, AutomationState.PAUSED_BY_GUARDRAIL)


class Journey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="journeys")
    slug = models.SlugField(
        max_length=80, help_text="Unique within the AI system; used by the API."
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    automation_state = models.CharField(
        max_length=24,
        choices=AutomationState.choices,
        # A new journey starts in shadow: it goes live only by a manager's go-live sign-off.
        default=AutomationState.SHADOW,
        help_text="In shadow or paused, every gate call is routed to a human.",
    )
    shadow_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the journey last went back to shadow; its agreement is measured from "
        "then (empty: since the journey was created).",
    )
    paused_reason = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    required_context_keys = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_key_list],
        help_text='Context keys every gate call must send, e.g. ["order_id", "customer_tier"]. '
        "A missing key routes the call to a human.",
    )
    allow_pii_in_proposal = models.BooleanField(
        default=False,
        help_text="If off, personal data found in a proposal (e-mail, phone, IBAN, card number) "
        "routes the call to a human.",
    )
    sampling_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=0,
        validators=RATE_VALIDATORS,
        help_text="Share (0 to 1) of automated calls also opened as sample-audit cases.",
    )
    approval_valid_minutes = models.PositiveIntegerField(
        default=24 * 60,
        validators=[MinValueValidator(1)],
        help_text="How long a person's approval stays valid for the AI system to act on it "
        "(the approval token's expiry), in minutes. 1440 = 24 hours.",
    )
    default_sla_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(1)],
        help_text="SLA for cases not opened by a judgement point (sample audits, direct cases).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["ai_system__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["ai_system", "slug"], name="journey_slug_per_system"),
            models.CheckConstraint(
                condition=models.Q(sampling_rate__gte=0) & models.Q(sampling_rate__lte=1),
                name="journey_sampling_rate_0_1",
                violation_error_message="Sampling rate must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(default_sla_minutes__gte=1),
                name="journey_sla_positive",
                violation_error_message="The SLA must be at least one minute.",
            ),
        ]
        permissions = [
            ("decide_journey", "Can decide cases of this journey"),
            ("override_journey", "Can override the AI on this journey"),
            ("manage_authority_journey", "Can manage authority on this journey"),
        ]

    def __str__(self) -> str:
        return f"{self.ai_system.name} / {self.name}"

    @property
    def is_paused(self) -> bool:
        return self.automation_state in PAUSED_STATES

    @property
    def is_shadow(self) -> bool:
        return self.automation_state == AutomationState.SHADOW

    @property
    def mode(self) -> str:
        """shadow, live or paused (JourneyMode), read from the automation state."""
        if self.is_shadow:
            return JourneyMode.SHADOW
        return JourneyMode.PAUSED if self.is_paused else JourneyMode.LIVE

    def get_mode_display(self) -> str:
        return JourneyMode(self.mode).label
