"""Retention: old ledger events and gate evaluations leave by one sanctioned path, on the record.

Both are kept at least six months (the EU AI Act's minimum for deployers' logs); settings below
that are refused at startup (audit/checks.py) and here. A gate evaluation that a case, an outcome
or anything else still points at is evidence of that record and is kept, whatever its age.

The ledger loses a prefix of its chain: the oldest events. First a purge checkpoint keeps the
sequence and hash of the last event deleted, so verification starts from it afterwards; then
the purge itself is appended to the ledger, which confirms the checkpoint. All in one
transaction. On PostgreSQL the rows are deleted by the database's own purge functions
(audit/purge_sql.py), the only path past the evidence triggers; each pass leaves a PurgeRecord.
"""

import datetime
import operator
from dataclasses import dataclass, field
from functools import reduce

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from simple_history.models import HistoricalChanges

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint, LedgerHead, PurgeRecord
from audit.services.checkpoints import write_checkpoint
from audit.services.ledger import PURGE_ACTION, Actor, append_event, verify_ledger
from oversight.exceptions import DomainError
from oversight.models import GateEvaluation
from oversight.services.rollups import recompute_gate_days

MINIMUM_RETENTION_DAYS = 183  # six months
DEFAULT_RETENTION_DAYS = 730
RETENTION_SETTINGS = {
    "RETENTION_LEDGER_DAYS": "audit events",
    "RETENTION_GATE_EVALUATIONS_DAYS": "gate evaluations",
}
# Gate evaluations are deleted in batches: the deletion checks what points at each one.
GATE_EVALUATION_BATCH = 2000


class RetentionRefused(DomainError):
    code = "retention_refused"


def retention_days(name: str) -> int:
    return getattr(settings, name, DEFAULT_RETENTION_DAYS)


def retention_problems() -> list[tuple[str, str]]:
    """(problem, hint) for each retention setting below the minimum or not a number of days."""
    problems = []
    for name, what in RETENTION_SETTINGS.items():
        days = retention_days(name)
        if isinstance(days, bool) or not isinstance(days, int) or days < MINIMUM_RETENTION_DAYS:
            problems.append(
                (
                    f"{name}={days!r}: {what} must be kept at least {MINIMUM_RETENTION_DAYS} "
                    "days (six months).",
                    f"Set {name} to {MINIMUM_RETENTION_DAYS} or more; the EU AI Act asks "
                    "deployers to keep the logs of high-risk systems at least six months.",
                )
            )
    return problems


@dataclass
class PurgeReport:
    """What a purge deleted and kept (or, in a dry run, would)."""

    dry_run: bool
    ledger_cutoff: datetime.datetime
    gate_cutoff: datetime.datetime
    ledger_deleted: int = 0
    ledger_first: int | None = None
    ledger_through: int | None = None
    ledger_through_hash: str = ""
    gate_deleted: int = 0
    gate_kept_referenced: int = 0
    checkpoint: LedgerCheckpoint | None = None
    event: AuditEvent | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def deleted_anything(self) -> bool:
        return bool(self.ledger_deleted or self.gate_deleted)

    def lines(self) -> list[str]:
        verb = "Would delete" if self.dry_run else "Deleted"
        span = f" (#{self.ledger_first}–#{self.ledger_through})" if self.ledger_deleted else ""
        lines = [
            f"{verb} {self.ledger_deleted} audit events older than "
            f"{self.ledger_cutoff:%Y-%m-%d %H:%M} UTC{span}.",
            f"{verb} {self.gate_deleted} gate evaluations older than "
            f"{self.gate_cutoff:%Y-%m-%d %H:%M} UTC; kept {self.gate_kept_referenced} that a "
            "case or outcome still refers to.",
        ]
        if self.checkpoint is not None:
            lines.append(
                f"Purge checkpoint at #{self.checkpoint.sequence} "
                f"({self.checkpoint.head_hash}); verification starts after it."
            )
        if self.event is not None:
            lines.append(f"Recorded as ledger event #{self.event.sequence} ({PURGE_ACTION}).")
        return [*lines, *self.notes]


def _referenced_by_something():
    """True for gate evaluations a current record points at (history rows don't count)."""
    conditions = [
        Exists(relation.related_model._base_manager.filter(**{relation.field.name: OuterRef("pk")}))
        for relation in GateEvaluation._meta.related_objects
        if not issubclass(relation.related_model, HistoricalChanges)
    ]
    return reduce(operator.or_, conditions) if conditions else None


def _ledger_purge_point(*, cutoff, first: int, last: int) -> int | None:
    """The last sequence of the prefix older than the cutoff, within first..last, if any.

    The prefix stops at the first event young enough to keep, even if a later one is older
    (clocks of several servers disagree by a little): the chain can only lose its beginning.
    """
    if last < first:
        return None
    first_kept = (
        AuditEvent.objects.filter(sequence__gte=first, sequence__lte=last, occurred_at__gte=cutoff)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    through = last if first_kept is None else first_kept - 1
    return through if through >= first else None


def purge_expired(*, now=None, actor: Actor, dry_run: bool = False) -> PurgeReport:
    """Delete audit events and gate evaluations older than their retention, in one transaction.

    Refuses (RetentionRefused, nothing deleted) when a retention setting is under six months or
    when the ledger does not verify: deleting a tampered stretch would destroy the evidence of
    the tampering. Gate evaluations that anything still refers to are kept and counted. The purge
    is appended to the ledger as `retention.purged` when it deleted anything.
    """
    problems = retention_problems()
    if problems:
        raise RetentionRefused(
            " ".join(problem for problem, _ in problems) + " Nothing was purged."
        )
    now = now or timezone.now()
    report = PurgeReport(
        dry_run=dry_run,
        ledger_cutoff=now - datetime.timedelta(days=retention_days("RETENTION_LEDGER_DAYS")),
        gate_cutoff=now
        - datetime.timedelta(days=retention_days("RETENTION_GATE_EVALUATIONS_DAYS")),
    )

    # Verified outside the lock (it may take a while); only the verified stretch is purged.
    check = verify_ledger()
    if not check.ok:
        raise RetentionRefused(
            f"The audit trail does not verify ({check.summary()}). Nothing was purged: "
            "investigate first, the events to be purged are evidence."
        )
    through = _ledger_purge_point(
        cutoff=report.ledger_cutoff, first=check.from_sequence, last=check.head_sequence
    )
    expired_evaluations = GateEvaluation.objects.filter(created_at__lt=report.gate_cutoff)
    referenced = _referenced_by_something()
    if referenced is not None:
        report.gate_kept_referenced = expired_evaluations.filter(referenced).count()
        expired_evaluations = expired_evaluations.exclude(referenced)

    if dry_run:
        if through is not None:
            report.ledger_first, report.ledger_through = check.from_sequence, through
            report.ledger_deleted = AuditEvent.objects.filter(sequence__lte=through).count()
        report.gate_deleted = expired_evaluations.count()
        return report

    with transaction.atomic():
        # Appends wait while the prefix goes and the purge is recorded.
        LedgerHead.objects.select_for_update().filter(singleton=1).first()
        if through is not None:
            through_hash = AuditEvent.objects.values_list("hash", flat=True).get(sequence=through)
            report.checkpoint = write_checkpoint(
                kind=CheckpointKind.PURGE, sequence=through, head_hash=through_hash
            )
            report.ledger_first, report.ledger_through = check.from_sequence, through
            report.ledger_through_hash = through_hash
            report.ledger_deleted = _purge_ledger(through=through)
        while batch := list(
            expired_evaluations.values_list("pk", flat=True)[:GATE_EVALUATION_BATCH]
        ):
            report.gate_deleted += _purge_gate_evaluations(batch)
        if report.gate_deleted:
            # The daily summaries of the thinned days count what is left.
            cutoff_day = report.gate_cutoff.astimezone(datetime.UTC).date()
            recompute_gate_days(None, cutoff_day + datetime.timedelta(days=1))
        if report.deleted_anything:
            report.event = append_event(actor=actor, action=PURGE_ACTION, payload=_payload(report))
    return report


def _purge_ledger(*, through: int) -> int:
    """Delete events up to `through`. On PostgreSQL only the owned function can (it re-checks
    the age by the database's clock and the signed purge checkpoint, and records the purge)."""
    days = retention_days("RETENTION_LEDGER_DAYS")
    if connection.vendor == "postgresql":
        return _call_purge_function("hitl_purge_ledger(%s, %s)", [through, days])
    deleted, _ = AuditEvent.objects.filter(sequence__lte=through).delete()
    PurgeRecord.objects.create(
        table=AuditEvent._meta.db_table,
        deleted=deleted,
        through_sequence=through,
        retention_days=days,
    )
    return deleted


def _purge_gate_evaluations(ids: list) -> int:
    days = retention_days("RETENTION_GATE_EVALUATIONS_DAYS")
    if connection.vendor == "postgresql":
        return _call_purge_function("hitl_purge_gate_evaluations(%s::uuid[], %s)", [ids, days])
    _, deleted = GateEvaluation.objects.filter(pk__in=ids).delete()
    count = deleted.get(GateEvaluation._meta.label, 0)
    if count:
        PurgeRecord.objects.create(
            table=GateEvaluation._meta.db_table, deleted=count, retention_days=days
        )
    return count


def _call_purge_function(call: str, params: list) -> int:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT {call}", params)
            return cursor.fetchone()[0]
    except DatabaseError as error:
        raise RetentionRefused(
            f"The database refused the purge ({str(error).splitlines()[0]}). Nothing was purged."
        ) from None


def _payload(report: PurgeReport) -> dict:
    ledger = {
        "retention_days": retention_days("RETENTION_LEDGER_DAYS"),
        "cutoff": report.ledger_cutoff,
        "deleted": report.ledger_deleted,
    }
    if report.ledger_deleted:
        ledger.update(
            first_sequence=report.ledger_first,
            through_sequence=report.ledger_through,
            through_hash=report.ledger_through_hash,
        )
    return {
        "ledger": ledger,
        "gate_evaluations": {
            "retention_days": retention_days("RETENTION_GATE_EVALUATIONS_DAYS"),
            "cutoff": report.gate_cutoff,
            "deleted": report.gate_deleted,
            "kept_referenced": report.gate_kept_referenced,
        },
    }
