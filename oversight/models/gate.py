"""Gate evaluations: every "may I proceed?" call and its answer. Insert-only, high volume."""

import uuid

from django.db import models
from django.utils import timezone

from oversight.models.systems import AISystem, Journey


class Route(models.TextChoices):
    AUTOMATE = "automate", "Automation may proceed"
    HUMAN = "human", "Routed to a human"
    BLOCKED = "blocked", "Blocked"


class ImmutableRecordError(Exception):
    """Raised when code tries to change a record that is written once and kept as evidence."""


class GateEvaluation(models.Model):
    """What the AI system sent, what the server added, which rules fired, and the answer.

    Written once and never changed, so it carries no history table: there is never a previous
    value to keep. `matched` stores each fired judgement point with its version and the signal
    values that fired each condition, so a later rule change never rewrites why it was routed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Both are indexed as the first column of (…, created_at) below: a single-column index of
    # their own would only be written, on every gate call (issue #17).
    ai_system = models.ForeignKey(
        AISystem, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="evaluations", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    action_type = models.CharField(max_length=100)
    irreversible = models.BooleanField(default=False)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    signals = models.JSONField(
        default=dict, blank=True, help_text="Signals as sent by the AI system."
    )
    server_signals = models.JSONField(
        default=dict, blank=True, help_text="Signals the server added (missing context, PII found)."
    )
    matched = models.JSONField(
        default=list,
        blank=True,
        help_text="Fired judgement points, their versions and the values that fired.",
    )
    route = models.CharField(max_length=16, choices=Route.choices)
    reasons = models.JSONField(default=list, blank=True)
    subject_ref = models.CharField(
        max_length=128, blank=True, help_text="Pseudonymous customer reference."
    )
    sampled = models.BooleanField(
        default=False, help_text="Automated, but also opened as a sample-audit case."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["journey", "created_at"]),
            models.Index(fields=["ai_system", "created_at"]),
            models.Index(fields=["subject_ref"]),
            models.Index(fields=["created_at"]),  # periods without a journey or AI system
        ]

    def __str__(self) -> str:
        return f"{self.journey.slug} {self.action_type} → {self.route}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Gate evaluations are evidence and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Gate evaluations are evidence and cannot be deleted.")
