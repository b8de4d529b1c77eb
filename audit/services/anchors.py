"""Anchors: the points outside the chain's own say-so that the chain must still pass through.

A hash chain proves only that it is consistent with itself: whoever can write to the database
can delete its tail and move the head back, truncate it, or edit an event and re-hash every
later one, and the walk still says OK. What they cannot do is change what was already handed
out or signed with a key they do not hold:

- every signed checkpoint (its signature must be valid under a trusted key, and the event at
  its sequence must still have its hash);
- every issued PDF report's pinned ledger head (the event at that sequence must still have the
  hash printed in the PDF);
- an exported anchor file kept outside the product (`verify_audit --anchor FILE`).

Events older than the latest (signed) retention purge are gone on purpose: anchors before it
are covered by the purge checkpoint, and an anchor exactly at it must carry its hash.
The membership checks are anti-joins in SQL: their cost grows with the number of anchors, not
of events, and nothing is loaded per event.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint
from audit.signing import SignedHead, signature_valid, trusted_public_keys
from oversight.models import IssuedReport

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Anchor:
    """A (sequence, hash) the chain must contain, and what vouches for it, for messages."""

    sequence: int
    hash: str
    label: str


@dataclass(frozen=True)
class AnchorBreak:
    sequence: int
    reason: str


@dataclass(frozen=True)
class AnchorSummary:
    checkpoints: int
    unsigned_checkpoints: int
    reports: int
    broken: AnchorBreak | None = None


def signed_head(checkpoint: LedgerCheckpoint) -> SignedHead:
    return SignedHead(
        sequence=checkpoint.sequence,
        hash=checkpoint.head_hash,
        created_at=checkpoint.created_at.astimezone(datetime.UTC).isoformat(),
        kind=checkpoint.kind,
        key_id=checkpoint.key_id,
    )


def checkpoint_label(checkpoint: LedgerCheckpoint) -> str:
    return (
        f"the {checkpoint.get_kind_display().lower()} checkpoint at #{checkpoint.sequence} "
        f"{'signed' if checkpoint.signature else 'written'} "
        f"{checkpoint.created_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )


def report_label(report: IssuedReport) -> str:
    return f"issued report {report.pk} ({report.title}) pinned at #{report.ledger_sequence}"


def _signature_break(checkpoint: LedgerCheckpoint, trusted) -> AnchorBreak | None:
    label = checkpoint_label(checkpoint).replace(" signed ", " of ").replace(" written ", " of ")
    if not checkpoint.signature:
        if checkpoint.kind == CheckpointKind.PURGE:
            return AnchorBreak(
                checkpoint.sequence,
                f"{label} is not signed: a purge checkpoint starts the chain, so it must be",
            )
        return None
    public_key = trusted.get(checkpoint.key_id)
    if public_key is None:
        return AnchorBreak(
            checkpoint.sequence,
            f"{label} is signed with key {checkpoint.key_id!r}, which is not a trusted key "
            "(neither the current signing key nor one in LEDGER_PUBLIC_KEYS)",
        )
    if not signature_valid(signed_head(checkpoint), checkpoint.signature, public_key):
        return AnchorBreak(
            checkpoint.sequence, f"{label} has an invalid signature: it was altered or forged"
        )
    return None


def _why_not_in_chain(anchor: Anchor) -> str:
    present = AuditEvent.objects.filter(sequence=anchor.sequence).exists()
    if present:
        return (
            f"{anchor.label}: event #{anchor.sequence} no longer has the hash {anchor.hash}: "
            f"the ledger was rewritten at or before #{anchor.sequence}"
        )
    last = (
        AuditEvent.objects.filter(sequence__isnull=False)  # pending events are not in it yet
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    end = f"the ledger now ends at #{last}" if last else "the ledger is now empty"
    return (
        f"{anchor.label}: event #{anchor.sequence} is missing ({end}): "
        "events were deleted or the ledger truncated"
    )


def anchor_break(anchor: Anchor, *, purge: LedgerCheckpoint | None) -> AnchorBreak | None:
    """Whether one anchor still lies on the chain (for an exported anchor file)."""
    floor = purge.sequence if purge else 0
    if anchor.sequence < floor:
        return None  # purged on purpose, under a signed purge checkpoint
    if anchor.sequence == floor:
        expected = purge.head_hash if purge else GENESIS_HASH
        if anchor.hash == expected:
            return None
        return AnchorBreak(anchor.sequence, f"{anchor.label}: the hash at #{floor} differs")
    if AuditEvent.objects.filter(sequence=anchor.sequence, hash=anchor.hash).exists():
        return None
    return AnchorBreak(anchor.sequence, _why_not_in_chain(anchor))


def _first_off_chain(queryset, sequence_field: str, hash_field: str, floor: int, floor_hash: str):
    """The lowest-sequence row of `queryset` whose pinned (sequence, hash) is not in the chain.

    Rows at the purge point must carry the purge checkpoint's hash (the event itself is gone);
    rows before it were purged on purpose.
    """
    in_chain = Exists(
        AuditEvent.objects.filter(sequence=OuterRef(sequence_field), hash=OuterRef(hash_field))
    )
    later = (
        queryset.filter(**{f"{sequence_field}__gt": floor})
        .exclude(in_chain)
        .order_by(sequence_field)
        .first()
    )
    at_floor = (
        queryset.filter(**{sequence_field: floor}).exclude(**{hash_field: floor_hash}).first()
    )
    return at_floor or later


def _off_chain_break(anchor: Anchor, floor: int) -> AnchorBreak:
    if anchor.sequence == floor:
        where = f"the purge checkpoint at #{floor}" if floor else "the start of the ledger"
        return AnchorBreak(anchor.sequence, f"{anchor.label}: its hash is not that of {where}")
    return AnchorBreak(anchor.sequence, _why_not_in_chain(anchor))


def check_anchors() -> AnchorSummary:
    """Check every signature, then that every checkpoint and issued report lies on the chain.

    Returns the counts and the anchor with the lowest sequence that broke, if any.
    """
    trusted = trusted_public_keys()
    checkpoints = unsigned = 0
    first: AnchorBreak | None = None
    purge: LedgerCheckpoint | None = None
    for checkpoint in LedgerCheckpoint.objects.order_by("sequence", "created_at").iterator():
        checkpoints += 1
        unsigned += not checkpoint.signature
        problem = _signature_break(checkpoint, trusted)
        if problem is not None and (first is None or problem.sequence < first.sequence):
            first = problem
        if checkpoint.kind == CheckpointKind.PURGE and problem is None:
            purge = checkpoint
    floor, floor_hash = (purge.sequence, purge.head_hash) if purge else (0, GENESIS_HASH)

    candidates = [first] if first is not None else []  # at a tie, the signature is the news
    checkpoint = _first_off_chain(
        LedgerCheckpoint.objects.all(), "sequence", "head_hash", floor, floor_hash
    )
    if checkpoint is not None:
        anchor = Anchor(checkpoint.sequence, checkpoint.head_hash, checkpoint_label(checkpoint))
        candidates.append(_off_chain_break(anchor, floor))
    report = _first_off_chain(
        IssuedReport.objects.defer("content"), "ledger_sequence", "ledger_hash", floor, floor_hash
    )
    if report is not None:
        anchor = Anchor(report.ledger_sequence, report.ledger_hash, report_label(report))
        candidates.append(_off_chain_break(anchor, floor))
    broken = min(candidates, key=lambda item: item.sequence) if candidates else None
    return AnchorSummary(
        checkpoints=checkpoints,
        unsigned_checkpoints=unsigned,
        reports=IssuedReport.objects.count(),
        broken=broken,
    )
