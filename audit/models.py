"""The audit ledger: an append-only, hash-chained record of every consequential action.

Events are never updated or deleted. Each carries the hash of the event before it, so removing,
editing or reordering any past event breaks the chain from that point on. Checkpoints anchor the
chain at a known head; verifications record every time someone checked it.

The models refuse changes in Python; on PostgreSQL the database refuses them too (see
audit/protection.py), because Python checks stop nobody with a database connection.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from oversight.models.gate import ImmutableRecordError


class InsertOnlyModel(models.Model):
    """Written once, never changed or deleted through the ORM's instance methods."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError(
                f"{self._meta.verbose_name_plural.capitalize()} are evidence and cannot be changed."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError(
            f"{self._meta.verbose_name_plural.capitalize()} are evidence and cannot be deleted."
        )


class ActorType(models.TextChoices):
    USER = "user", "Person"
    AI_SYSTEM = "ai_system", "AI system"
    SYSTEM = "system", "HITL Oversight itself"


class AuditEvent(InsertOnlyModel):
    # sequence, prev_hash and hash are empty while the event is pending: recorded in its
    # transaction, chained right after the commit (audit/services/sealing.py).
    sequence = models.PositiveBigIntegerField(
        unique=True,
        null=True,
        editable=False,
        help_text="Position in the ledger, starting at 1, no gaps (empty while pending).",
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
    action = models.CharField(max_length=64, editable=False)  # indexed below
    object_type = models.CharField(max_length=100, editable=False, help_text="app_label.model")
    # Indexed with object_type below: every look-up names both.
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    payload = models.JSONField(
        default=dict, editable=False, help_text="Relevant values before and after the action."
    )
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, null=True, editable=False)  # unique: see Meta

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # Plain btrees: `db_index=True` or `unique=True` on a CharField adds a second,
            # pattern-ops index on PostgreSQL for LIKE 'x%' lookups, which nothing makes, and
            # sealing rewrites every index of a ledger row (issue #17).
            models.Index(fields=["action"], name="audit_event_action"),
            # Finding pending events costs nothing however long the ledger grows.
            models.Index(
                fields=["id"],
                condition=models.Q(sequence__isnull=True),
                name="audit_event_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"
            ),
            # Pending (no chain field) or sealed (every chain field): never half of each.
            models.CheckConstraint(
                condition=models.Q(sequence__isnull=True, hash__isnull=True, prev_hash="")
                | (models.Q(sequence__isnull=False, hash__isnull=False) & ~models.Q(prev_hash="")),
                name="audit_event_pending_or_sealed",
            ),
            # Every sealed event's hash is its own (a constraint, not unique=True: see above).
            models.UniqueConstraint(fields=["hash"], name="audit_event_hash_unique"),
        ]

    def __str__(self) -> str:
        position = "pending" if self.is_pending else f"#{self.sequence}"
        return f"{position} {self.action} {self.object_type}:{self.object_id}"

    @property
    def is_pending(self) -> bool:
        return self.sequence is None


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


class CheckpointKind(models.TextChoices):
    DAILY = "daily", "Daily anchor"
    PURGE = "purge", "Retention purge"
    ON_DEMAND = "on_demand", "On demand"


class LedgerCheckpoint(InsertOnlyModel):
    """The ledger head at a moment, kept so later checks can start there.

    A daily checkpoint is written only after the chain up to it verified, so an incremental
    check from it trusts nothing it has not checked before. A purge checkpoint holds the last
    event a retention purge deleted: the chain now starts after it.

    Each is signed (audit/signing.py) with a key the database does not hold: sequence, hash,
    time, kind and key id. Rewriting the chain behind a signed checkpoint changes the hash at
    its sequence, and deleting the tail leaves its sequence empty; verification notices both.
    """

    sequence = models.PositiveBigIntegerField(help_text="The last event the checkpoint covers.")
    head_hash = models.CharField(max_length=64, help_text="That event's hash.")
    kind = models.CharField(max_length=16, choices=CheckpointKind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    key_id = models.CharField(
        max_length=32, blank=True, help_text="Which signing key signed it (empty: unsigned)."
    )
    signature = models.CharField(
        max_length=128, blank=True, help_text="Ed25519 signature, base64 (empty: unsigned)."
    )

    class Meta:
        ordering = ["-sequence", "-created_at"]
        get_latest_by = ["sequence", "created_at"]
        indexes = [models.Index(fields=["kind", "sequence"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} checkpoint at #{self.sequence}"


class VerificationTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Daily schedule"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"


class LedgerVerification(InsertOnlyModel):
    """One check of the chain and its result: evidence that the trail was verified, and when."""

    verified_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    ok = models.BooleanField()
    from_sequence = models.PositiveBigIntegerField(
        help_text="The first event checked (after a purge or from a checkpoint: not 1)."
    )
    count = models.PositiveBigIntegerField(help_text="Events checked.")
    head_sequence = models.PositiveBigIntegerField(
        help_text="The last event checked and found intact."
    )
    head_hash = models.CharField(max_length=64)
    broken_at = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    since_checkpoint = models.BooleanField(
        default=False, help_text="Checked from the latest checkpoint on, not the whole ledger."
    )
    duration_ms = models.PositiveIntegerField(default=0)
    triggered_by = models.CharField(max_length=16, choices=VerificationTrigger.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-verified_at"]
        get_latest_by = "verified_at"

    def __str__(self) -> str:
        result = "OK" if self.ok else f"BROKEN at #{self.broken_at}"
        return f"Verification {self.verified_at:%Y-%m-%d %H:%M} {result}"


class PurgeRecord(InsertOnlyModel):
    """One pass of the retention purge over one table: what it deleted, when, as whom.

    On PostgreSQL the database's own purge function writes it (audit/purge_sql.py), so a purge
    cannot happen without leaving one, whoever called the function.
    """

    purged_at = models.DateTimeField(default=timezone.now, editable=False)
    table = models.CharField(max_length=100)
    deleted = models.PositiveBigIntegerField()
    through_sequence = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Ledger purges: the last event deleted."
    )
    retention_days = models.PositiveIntegerField()
    database_user = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-purged_at"]

    def __str__(self) -> str:
        return f"Purge of {self.deleted} rows from {self.table} at {self.purged_at:%Y-%m-%d}"
