"""Walking the audit ledger's chain: every hash recomputed, every link and number checked.

Only sealed events are walked (`sequence` set). An event recorded but not yet chained
(audit/services/sealing.py) is not part of the chain yet, so it cannot break it; one left
pending for longer than PENDING_GRACE is reported beside the result, never as a break.
"""

import dataclasses
import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint, LedgerHead
from audit.services.anchors import Anchor, AnchorSummary, anchor_break, check_anchors
from audit.services.hashing import _UTC, CONTENT_FIELDS, GENESIS_HASH, _canonical_json, _sha256

# An event normally waits milliseconds for its seal (the request that recorded it seals it
# right after its commit); one older than this was left behind by a process that died.
PENDING_GRACE = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class PendingEvents:
    """Events recorded more than PENDING_GRACE ago and still not chained."""

    count: int
    oldest_at: datetime.datetime | None

    def summary(self) -> str:
        return (
            f"{self.count} event(s) recorded but not yet chained, the oldest at "
            f"{self.oldest_at:%Y-%m-%d %H:%M:%S} UTC (the sealing schedule chains them)"
        )


def stale_pending_events(*, grace: datetime.timedelta = PENDING_GRACE) -> PendingEvents:
    """Pending events older than `grace` (through the partial index on pending rows)."""
    found = AuditEvent.objects.filter(
        sequence__isnull=True, occurred_at__lt=timezone.now() - grace
    ).aggregate(count=models.Count("id"), oldest_at=models.Min("occurred_at"))
    oldest = found["oldest_at"]
    return PendingEvents(found["count"], oldest.astimezone(_UTC) if oldest else None)


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain: intact up to `head_sequence`, or broken at `broken_at`."""

    ok: bool
    count: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""
    from_sequence: int = 1
    head_sequence: int = 0
    checkpoint: LedgerCheckpoint | None = None
    anchors: AnchorSummary | None = None
    pending: PendingEvents | None = None

    def summary(self) -> str:
        if self.ok:
            text = f"OK: {self.count} events, head {self.head_hash}"
        else:
            text = f"BROKEN at #{self.broken_at}: {self.reason}"
        if self.pending is not None and self.pending.count:
            text += f"; {self.pending.summary()}"
        return text


# The columns a hash covers, in the order the walker unpacks them, then the stored hash.
_ROW_FIELDS = ("sequence", *CONTENT_FIELDS, "prev_hash", "hash")
PURGE_ACTION = "retention.purged"


def _locate(hash_value: str) -> int | None:
    """The sequence of the event with this hash, if it is still in the ledger (indexed)."""
    return AuditEvent.objects.filter(hash=hash_value).values_list("sequence", flat=True).first()


# The canonical JSON of event_hash() with its keys already in sorted order, so the verifier only
# fills in values: every string escaped exactly as json.dumps(ensure_ascii=False) escapes it (so
# no value can spill into the next field), the payload through the sorted encoder. A test holds
# it equal to event_hash().
_CANONICAL_TEMPLATE = (
    '{"action":%s,"actor_id":%s,"actor_label":%s,"actor_type":%s,"object_id":%s,'
    '"object_type":%s,"occurred_at":%s,"payload":%s,"prev_hash":%s,"sequence":%d}'
)
_encode_string = json.encoder.encode_basestring
# The C scanner behind json.loads, without its per-call wrapper (a third of the cost).
_scan_json = json.JSONDecoder().scan_once


def _decode_payload(text):
    """JSON text as stored (both databases hand it back undecoded) -> value; None if unreadable."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError, TypeError):
        end = -1
    if end == len(text):
        return value
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None  # cannot match its hash: reported as changed


def _utc_isoformat(occurred_at) -> str:
    """occurred_at as event_hash() writes it, from a datetime or as UTC text from the database.

    The text is "YYYY-MM-DD HH:MM:SS[.ffffff]" (see _rows); isoformat() leaves out a zero
    fraction, so that is dropped here too.
    """
    if isinstance(occurred_at, str):
        text = occurred_at.replace(" ", "T", 1)
        if text.endswith(".000000"):
            text = text[:-7]
        return text + "+00:00"
    return occurred_at.astimezone(_UTC).isoformat()


def _row_hash(row: tuple, payload) -> str:
    """event_hash() of one row (payload decoded), built without a dict or key sorting."""
    try:
        canonical = _CANONICAL_TEMPLATE % (
            _encode_string(row[5]),  # action
            _encode_string(row[3]),  # actor_id
            _encode_string(row[4]),  # actor_label
            _encode_string(row[2]),  # actor_type
            _encode_string(row[7]),  # object_id
            _encode_string(row[6]),  # object_type
            _encode_string(_utc_isoformat(row[1])),
            _canonical_json(payload),
            _encode_string(row[9]),  # prev_hash
            row[0],  # sequence
        )
    except (TypeError, ValueError, AttributeError):
        # A value of the wrong type, written behind the ORM's back: it cannot match any hash
        # append_event wrote, so the event is reported as changed.
        return ""
    return _sha256(canonical.encode("utf-8")).hexdigest()


class _Walk:
    """Walks rows in sequence order, checking numbering, links and hashes; stops at the first break.

    Rows are plain tuples (see _ROW_FIELDS), not model instances: building an instance per event
    costs more than hashing it. Nothing is kept per event, so memory does not grow with the ledger.
    """

    def __init__(self, *, start_sequence: int, start_hash: str, locate=_locate):
        self.from_sequence = start_sequence
        self.expected = start_sequence
        self.prev_hash = start_hash
        self.count = 0
        self.broken_at: int | None = None
        self.reason = ""
        self.purges_seen: set[tuple[int, str]] = set()
        self._locate = locate

    @property
    def last_sequence(self) -> int:
        return self.expected - 1

    def run(self, rows: Iterable[tuple]) -> bool:
        row_hash = _row_hash
        decode = _decode_payload
        expected = self.expected
        prev_hash = self.prev_hash
        try:
            for row in rows:
                sequence = row[0]
                if sequence != expected:
                    return self._break(
                        expected,
                        f"event #{expected} is missing (the next one is #{sequence}): deleted",
                    )
                stored_hash = row[10]
                payload = row[8]
                if payload.__class__ is str:
                    payload = decode(payload)
                intact = row_hash(row, payload) == stored_hash
                if row[9] != prev_hash:
                    return self._break(sequence, self._unlinked_reason(sequence, row[9], intact))
                if not intact:
                    return self._break(sequence, "its content was changed after writing")
                if row[5] == PURGE_ACTION:
                    self._note_purge(payload)
                prev_hash = stored_hash
                expected += 1
            return True
        finally:
            self.count += expected - self.expected
            self.expected, self.prev_hash = expected, prev_hash

    def _unlinked_reason(self, sequence: int, linked_to: str, intact: bool) -> str:
        written_after = self._locate(linked_to) if linked_to != GENESIS_HASH else None
        if written_after is not None:
            return (
                f"events were reordered: it was written right after the event now at "
                f"#{written_after}, not after #{sequence - 1}"
            )
        if intact:
            return (
                "it does not link to the event before it: an earlier event was replaced or deleted"
            )
        return (
            "it does not link to the event before it and its content does not match its hash: "
            "an earlier event was deleted and the later ones renumbered, or it was edited"
        )

    def _note_purge(self, payload) -> None:
        ledger = payload.get("ledger") if isinstance(payload, dict) else None
        if isinstance(ledger, dict) and "through_sequence" in ledger:
            self.purges_seen.add((ledger["through_sequence"], ledger.get("through_hash")))

    def _break(self, sequence: int, reason: str) -> bool:
        self.broken_at = sequence
        self.reason = reason
        return False

    def result(self, checkpoint: LedgerCheckpoint | None = None) -> ChainCheck:
        return ChainCheck(
            ok=self.broken_at is None,
            count=self.count,
            head_hash=self.prev_hash,
            broken_at=self.broken_at,
            reason=self.reason,
            from_sequence=self.from_sequence,
            head_sequence=self.last_sequence,
            checkpoint=checkpoint,
        )


def check_chain(
    events: Iterable[AuditEvent], *, start_hash: str = GENESIS_HASH, start_sequence: int = 1
) -> ChainCheck:
    """Walk events (model instances) in sequence order and report the first break, if any."""
    walk = _Walk(start_sequence=start_sequence, start_hash=start_hash)
    walk.run(tuple(getattr(event, name) for name in _ROW_FIELDS) for event in events)
    return walk.result()


def _rows(*, first: int, last: int, chunk_size: int):
    """Event rows first..last in sequence order, read `chunk_size` sequence numbers at a time.

    Each query asks for a fixed window of sequence numbers rather than "the next N after x":
    the work per query stays bounded whatever plan the database picks (without statistics,
    PostgreSQL answered "next N" by reading the whole rest of the ledger and sorting it).
    Plain SQL rather than the ORM: at tens of thousands of rows a second, Django's per-row
    converters cost as much as the hashing. The payload comes back as JSON text (the walker
    decodes it) and the time as UTC text: turning it into a datetime only to format it again
    cost more than all the rest of reading a row on PostgreSQL.
    """
    quote = connection.ops.quote_name
    columns = [quote(AuditEvent._meta.get_field(name).column) for name in _ROW_FIELDS]
    if connection.vendor == "sqlite":
        # Django stores str(naive UTC datetime): "YYYY-MM-DD HH:MM:SS[.ffffff]".
        columns[1] = f"CAST({columns[1]} AS TEXT)"
    elif connection.vendor == "postgresql":
        columns[1] = f"to_char({columns[1]} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    sequence = columns[0]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(AuditEvent._meta.db_table)} "
        f"WHERE {sequence} >= %s AND {sequence} < %s ORDER BY {sequence}"
    )
    with connection.cursor() as cursor:
        for low in range(first, last + 1, chunk_size):
            cursor.execute(sql, [low, min(low + chunk_size, last + 1)])
            yield from cursor.fetchall()


def _starting_checkpoint(*, since_checkpoint: bool) -> LedgerCheckpoint | None:
    """Where a check starts: the latest purge checkpoint (older events are gone) or, when asked
    for an incremental check, the latest signed checkpoint of any kind (an unsigned one, from
    before checkpoints were signed, vouches for nothing)."""
    checkpoints = LedgerCheckpoint.objects.order_by("-sequence", "-created_at")
    if not since_checkpoint:
        checkpoints = checkpoints.filter(kind=CheckpointKind.PURGE)
    else:
        checkpoints = checkpoints.exclude(Q(signature="") & ~Q(kind=CheckpointKind.PURGE))
    return checkpoints.first()


def verify_ledger(
    *,
    since_checkpoint: bool = False,
    chunk_size: int = 5000,
    anchor: Anchor | None = None,
) -> ChainCheck:
    """Verify the chain, then that it still passes through every anchor (audit/services/anchors).

    The chain alone is only consistent with itself: a deleted tail, a truncation or an edit
    re-hashed through the head pass the walk. Signed checkpoints and the ledger heads pinned in
    issued reports (and `anchor`, an exported anchor file) do not move with it. A break in the
    walk is reported first (it names an exact position); otherwise the anchor with the lowest
    sequence that no longer lies on the chain. Events recorded but not yet chained are not
    checked; those pending longer than PENDING_GRACE are counted in `pending`.
    """
    check = _verify_chain(since_checkpoint=since_checkpoint, chunk_size=chunk_size)
    check = dataclasses.replace(check, pending=stale_pending_events())
    if not check.ok:
        return check
    anchors = check_anchors()
    broken = anchors.broken
    if anchor is not None:
        outside = anchor_break(anchor, purge=_starting_checkpoint(since_checkpoint=False))
        if outside is not None and (broken is None or outside.sequence <= broken.sequence):
            broken = outside
    if broken is not None:
        return dataclasses.replace(
            check, ok=False, broken_at=broken.sequence, reason=broken.reason, anchors=anchors
        )
    return dataclasses.replace(check, anchors=anchors)


def _verify_chain(*, since_checkpoint: bool = False, chunk_size: int = 5000) -> ChainCheck:
    """Verify the chain against its head, reading in bounded chunks (memory does not grow).

    Starts at genesis, or after the latest retention purge (its checkpoint holds the hash of the
    last purged event, and a `retention.purged` event later in the chain must confirm it). With
    `since_checkpoint`, starts at the latest checkpoint of any kind, whose hash must still be the
    hash of the event at its sequence. Reads the head first and checks events up to it, so
    events appended meanwhile are left for the next check. Finds: edited events, missing events
    (in the middle or at the end), reordered events, and events written past the head.
    """
    head = LedgerHead.objects.filter(singleton=1).values_list("sequence", "hash").first()
    checkpoint = _starting_checkpoint(since_checkpoint=since_checkpoint)
    start_sequence, start_hash = 1, GENESIS_HASH
    if checkpoint is not None and checkpoint.kind == CheckpointKind.PURGE:
        start_sequence, start_hash = checkpoint.sequence + 1, checkpoint.head_hash
    elif checkpoint is not None:
        anchor = (
            AuditEvent.objects.filter(sequence=checkpoint.sequence)
            .values_list("prev_hash", "hash")
            .first()
        )
        if anchor is None or anchor[1] != checkpoint.head_hash:
            what = "is missing" if anchor is None else "no longer has the checkpoint's hash"
            return _broken(checkpoint, checkpoint.sequence, f"the checkpointed event {what}")
        # Re-check the checkpointed event itself: its own hash covers its link backwards.
        start_sequence, start_hash = checkpoint.sequence, anchor[0]
    walk = _Walk(start_sequence=start_sequence, start_hash=start_hash)

    if head is None:
        sealed = AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence")
        first = sealed.values_list("sequence", flat=True).first()
        if first is not None:
            return _broken(checkpoint, first, "the ledger head is missing")
        return walk.result(checkpoint)
    head_sequence, head_hash = head
    if head_sequence < start_sequence - 1:
        return _broken(
            checkpoint,
            checkpoint.sequence,
            f"the checkpoint is past the ledger head (#{head_sequence})",
        )

    if not walk.run(_rows(first=start_sequence, last=head_sequence, chunk_size=chunk_size)):
        return walk.result(checkpoint)
    if walk.last_sequence < head_sequence:
        return _broken(
            checkpoint,
            walk.last_sequence + 1,
            f"event #{walk.last_sequence + 1} is missing (the ledger head is at "
            f"#{head_sequence}): events at the end were deleted",
            walk,
        )
    if walk.prev_hash != head_hash:
        return _broken(
            checkpoint, head_sequence, "the last event does not match the ledger head", walk
        )
    # One statement, so it reads the head and the events at the same instant.
    beyond = (
        AuditEvent.objects.filter(
            sequence__gt=models.Subquery(LedgerHead.objects.filter(singleton=1).values("sequence"))
        )
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    if beyond is not None:
        return _broken(
            checkpoint,
            beyond,
            "it lies past the ledger head: written outside append_event",
            walk,
        )
    if (
        checkpoint is not None
        and checkpoint.kind == CheckpointKind.PURGE
        and (checkpoint.sequence, checkpoint.head_hash) not in walk.purges_seen
    ):
        return _broken(
            checkpoint,
            checkpoint.sequence,
            f"no {PURGE_ACTION} event in the ledger confirms the purge checkpoint at "
            f"#{checkpoint.sequence}",
            walk,
        )
    return walk.result(checkpoint)


def _broken(checkpoint, sequence: int, reason: str, walk: _Walk | None = None) -> ChainCheck:
    return ChainCheck(
        ok=False,
        count=walk.count if walk else 0,
        head_hash=walk.prev_hash if walk else "",
        broken_at=sequence,
        reason=reason,
        from_sequence=walk.from_sequence if walk else sequence,
        head_sequence=walk.last_sequence if walk else 0,
        checkpoint=checkpoint,
    )
