"""The audit ledger: an append-only, hash-chained record of every consequential action.

Events are never updated or deleted. Each carries the hash of the event before it, so removing,
editing or reordering any past event breaks the chain from that point on.
"""

from django.conf import settings
from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "Person"
    AI_SYSTEM = "ai_system", "AI system"
    SYSTEM = "system", "HITL Oversight itself"


class AuditEvent(models.Model):
    sequence = models.PositiveBigIntegerField(
        unique=True, editable=False, help_text="Position in the ledger, starting at 1, no gaps."
    )
    occurred_at = models.DateTimeField(editable=False, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices, editable=False)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    actor_id = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Id of the acting user or AI system, kept even if the row is renamed.",
    )
    actor_label = models.CharField(
        max_length=200, blank=True, editable=False, help_text="Who acted, as shown at the time."
    )
    action = models.CharField(max_length=64, db_index=True, editable=False)
    object_type = models.CharField(max_length=100, editable=False, help_text="app_label.model")
    object_id = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    payload = models.JSONField(
        default=dict, editable=False, help_text="Relevant values before and after the action."
    )
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class LedgerHead(models.Model):
    """The single row that serialises appends: locked while an event is written.

    Locking the last event row is not enough on PostgreSQL: two writers waiting on it would both
    see the same predecessor and fork the chain. Locking and advancing this row is.
    """

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=1), name="ledger_head_singleton"),
        ]

    def __str__(self) -> str:
        return f"Ledger head #{self.sequence}"
