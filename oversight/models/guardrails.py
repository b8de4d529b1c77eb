"""Guardrails: outcome goals of a journey that stop its automation when they are missed."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from audit.history import EvidenceHistory
from oversight.models.gate import ImmutableRecordError
from oversight.models.systems import Journey


class GuardrailKind(models.TextChoices):
    MEDIAN_CUSTOMER_EFFORT_MAX = (
        "median_customer_effort_max",
        "Median customer effort (1-7) of the last N outcomes at most",
    )
    SAMPLE_AUDIT_DISAGREEMENT_MAX = (
        "sample_audit_disagreement_max",
        "Share of the last N sample audits that disagree with the automation at most",
    )
    OVERRIDE_RATE_MAX = (
        "override_rate_max",
        "Share of the last N decisions that override the AI at most",
    )


class GuardrailBreachAction(models.TextChoices):
    PAUSE = "pause", "Pause the journey (every call to a person)"
    SHADOW = "shadow", "Return the journey to shadow (a new go-live sign-off is needed)"


class Guardrail(models.Model):
    """A limit on one figure of a journey over its last N outcomes or decisions.

    Evaluated hourly; a breach pauses the journey's automation (paused by a guardrail) until a
    manager resumes it.
    """

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="guardrails")
    kind = models.CharField(max_length=40, choices=GuardrailKind.choices)
    threshold = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(0)],
        help_text="Breached when the figure is above this: effort 1-7, shares 0-1.",
    )
    window = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1)],
        help_text="How many of the latest outcomes (effort) or decisions (rates) count.",
    )
    min_sample = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="With fewer values than this in the window, the guardrail does not judge.",
    )
    on_breach = models.CharField(
        max_length=16,
        choices=GuardrailBreachAction.choices,
        default=GuardrailBreachAction.PAUSE,
        help_text="What a breach does to a live journey.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["journey", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "kind"], name="guardrail_once_per_kind"),
            models.CheckConstraint(
                condition=models.Q(window__gte=1) & models.Q(min_sample__gte=1),
                name="guardrail_window_positive",
                violation_error_message="Window and minimum sample must be at least 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journey}: {self.get_kind_display()} {self.threshold}"


class GuardrailEvaluation(models.Model):
    """One hourly look at one guardrail: the figure, the sample, and what followed. Insert-only."""

    guardrail = models.ForeignKey(Guardrail, on_delete=models.PROTECT, related_name="evaluations")
    evaluated_at = models.DateTimeField(default=timezone.now, db_index=True)
    value = models.FloatField(null=True, blank=True, help_text="None: too few values to judge.")
    sample_size = models.PositiveIntegerField(default=0)
    threshold = models.DecimalField(max_digits=7, decimal_places=4)
    breached = models.BooleanField(default=False)
    paused_automation = models.BooleanField(
        default=False, help_text="This breach paused the journey (it was running)."
    )
    returned_to_shadow = models.BooleanField(
        default=False, help_text="This breach returned the journey to shadow (it was running)."
    )

    class Meta:
        ordering = ["-evaluated_at"]
        indexes = [models.Index(fields=["guardrail", "evaluated_at"])]

    def __str__(self) -> str:
        return f"{self.guardrail} at {self.evaluated_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Guardrail evaluations are evidence and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Guardrail evaluations are evidence and cannot be deleted.")
