"""Sealing: giving recorded-but-pending events their place in the chain, in batches.

A case opening must not hold the one ledger-head lock until its COMMIT, or every case opening
waits for the one before it (issue #17). So it records its event without chain fields
(`record_event`: sequence and hash NULL, prev_hash ""), commits, and then seals: under the
head lock, every pending row that is committed by then gets the next sequence, the previous
hash and its own hash, in `id` order, in one UPDATE, and the head moves to the last of them.
Whoever takes the lock seals everyone's pending rows, so under load one transaction (one WAL
flush) chains a whole batch. After a case opening on PostgreSQL that is one transaction of
three statements between BEGIN and COMMIT (`own_batch.seal_own_batch`): the sealing lock, one
read of the head (locked) and the pending rows, one UPDATE of the batch and the head. A case
opening that finds the sealing lock taken does not wait: the holder seals again after its commit
while anything is pending, so the event is chained moments later (`_sealed_after_commit` says
why none is missed). The ledger sealer (audit/services/sealer.py) is such a holder for as long
as it runs, so that requests spend nothing on the chain.

Why the chain stays one gap-free, verifiable sequence: a sequence and a prev_hash are given only
under the head lock, to rows that are already committed (a rollback can no longer take them
away), and the head advances in the same transaction; a sealing transaction that fails rolls
back as a whole and leaves its rows pending for the next one. The hash is `event_hash()` as
ever, over `occurred_at` as recorded at insert. On PostgreSQL the row trigger lets exactly this
UPDATE through (audit/protection.py): pending -> sealed, nothing else changed.
"""

import time

from django.db import connection, transaction

from audit.models import AuditEvent, LedgerHead
from audit.services.hashing import CONTENT_FIELDS, GENESIS_HASH, event_hash
from audit.services.own_batch import (
    BUSY,
    LOCK_FOR_OWN_BATCH,
    SEALING_LOCK,
    StaleBatch,
    lock_is_taken,
    seal_batch_with,
    seal_own_batch,
)

# The columns sealing writes (and the only ones the application's database role may update).
CHAIN_COLUMNS = ("sequence", "prev_hash", "hash")

# The columns a hash covers besides sequence and prev_hash, which come from the head.
_HASHED = CONTENT_FIELDS


def locked_head() -> LedgerHead:
    """The ledger head, locked until the current transaction ends (created at genesis).

    get_or_create handles two first-ever appends racing to create it.
    """
    head, _ = LedgerHead.objects.select_for_update().get_or_create(
        singleton=1, defaults={"sequence": 0, "hash": GENESIS_HASH}
    )
    return head


def seal_locked(head: LedgerHead) -> dict[int, tuple[int, str, str]]:
    """Chain every pending row this transaction sees, after `head` (locked by the caller).

    Advances `head` in memory; the caller saves it. Returns id -> (sequence, prev_hash, hash).
    """
    pending = _pending_rows()
    sealed = {}
    sequence, prev_hash = head.sequence, head.hash
    for row in pending:
        sequence += 1
        this_hash = event_hash(
            sequence=sequence, prev_hash=prev_hash, **dict(zip(_HASHED, row[1:], strict=True))
        )
        sealed[row[0]] = (sequence, prev_hash, this_hash)
        prev_hash = this_hash
    if sealed:
        _write_seals(sealed)
        head.sequence, head.hash = sequence, prev_hash
    return sealed


_PENDING: dict[str, tuple[str, tuple, dict]] = {}


def _pending_rows() -> list[tuple]:
    """The pending rows (id, then the hashed columns) in id order, converted as the ORM converts
    them: the queryset is compiled once per database vendor, not on every seal."""
    if connection.vendor not in _PENDING:
        queryset = (
            AuditEvent.objects.filter(sequence__isnull=True)
            .order_by("id")
            .values_list("id", *_HASHED)
        )
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        _PENDING[connection.vendor] = (sql, params, converters)
    sql, params, converters = _PENDING[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for index, (functions, expression) in converters.items():
            for function in functions:
                row[index] = function(row[index], expression, connection)
        converted.append(tuple(row))
    return converted


def _write_seals(sealed: dict[int, tuple[int, str, str]]) -> None:
    """One UPDATE for the batch; it touches only rows still pending, and all of them must be."""
    quote = connection.ops.quote_name
    table = quote(AuditEvent._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(sealed))
    params = [value for event_id, seal in sealed.items() for value in (event_id, *seal)]
    # VALUES columns are column1..column4 on both PostgreSQL and SQLite.
    sql = (
        f"UPDATE {table} SET {quote('sequence')} = v.column2, {quote('prev_hash')} = v.column3, "
        f"{quote('hash')} = v.column4 FROM (VALUES {values}) AS v "
        f"WHERE {table}.{quote('id')} = v.column1 AND {table}.{quote('sequence')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(sealed):
            # Only the head lock's holder seals: anything else is a bug or tampering, and the
            # whole batch rolls back rather than leave a gap.
            raise RuntimeError(
                f"sealing {len(sealed)} pending ledger events changed {cursor.rowcount} rows"
            )


def _seal_batch():
    """Chain every pending row committed by now, in one transaction under the head lock; BUSY
    (on PostgreSQL) if another transaction holds the sealing lock: that holder seals them.

    With nothing to seal it rolls back rather than commits: nothing to flush. The head is read
    and written by statements written once (`_head_sql`), the ORM's own after genesis.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(LOCK_FOR_OWN_BATCH, [SEALING_LOCK])  # tried, never waited for
                if not cursor.fetchone()[0]:
                    transaction.set_rollback(True)
                    return BUSY
            select_head, update_head = _head_sql()
            cursor.execute(select_head)
            row = cursor.fetchone()
        head = LedgerHead(singleton=1, sequence=row[0], hash=row[1]) if row else locked_head()
        sealed = seal_locked(head)
        if sealed:
            with connection.cursor() as cursor:
                cursor.execute(update_head, [head.sequence, head.hash])
        else:
            transaction.set_rollback(True)
    return sealed


_HEAD_SQL: dict[str, tuple[str, str]] = {}


def _head_sql() -> tuple[str, str]:
    """The head's locking read and its update, as locked_head() and head.save() write them."""
    if connection.vendor not in _HEAD_SQL:
        quote = connection.ops.quote_name
        table = quote(LedgerHead._meta.db_table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        _HEAD_SQL[connection.vendor] = (
            f"SELECT {quote('sequence')}, {quote('hash')} FROM {table}"
            f" WHERE {quote('singleton')} = 1{lock}",
            f"UPDATE {table} SET {quote('sequence')} = %s, {quote('hash')} = %s"
            f" WHERE {quote('singleton')} = 1",
        )
    return _HEAD_SQL[connection.vendor]


def seal_pending(wait_seconds: float = 10.0) -> int:
    """Chain the events pending now; returns how many this call sealed (the schedule's safety
    net, and a report's, before it names the ledger head).

    If the sealing lock is free, seals, and again while events remain pending after its commit
    (a case opening that found the lock taken meanwhile left its event to it). If another holds
    it (the ledger sealer, or a case opening's seal), that holder chains them: this waits up to
    `wait_seconds` for the events pending at the call to be chained, and never for the lock.
    """
    last = _last_pending_id()
    if last is None:
        return 0
    sealed, rounds = 0, 0
    deadline = time.monotonic() + wait_seconds
    while True:
        batch = _seal_batch()
        if batch is BUSY:
            if not _pending_through(last) or time.monotonic() >= deadline:
                return sealed
            time.sleep(_BUSY_RETRY_SECONDS)
            continue
        sealed += len(batch)
        rounds += 1
        if rounds >= _ROUNDS or not _pending_exists():
            return sealed


# How often `seal_pending` looks again while another holds the sealing lock.
_BUSY_RETRY_SECONDS = 0.005


def _last_pending_id() -> int | None:
    return (
        AuditEvent.objects.filter(sequence__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )


def _pending_through(last_id: int) -> bool:
    return AuditEvent.objects.filter(sequence__isnull=True, id__lte=last_id).exists()


def seal_batch_held() -> int:
    """For the ledger sealer, which holds the sealing lock (audit/services/sealer.py): one look
    for pending events, and if there are any one batch, in the transaction a case opening's seal
    uses (`own_batch.seal_batch_with`: the head and the pending rows in one read, the batch and
    the head in one UPDATE); returns how many it sealed."""
    if not _pending_exists():
        return 0
    try:
        result = _retrying(seal_batch_with, 0)
    except StaleBatch:  # appends kept winning the head: the batch that reads after its lock
        return len(_seal_batch())
    if result is BUSY:  # not while it holds the lock; if ever, the holder seals them
        return 0
    if result is None:  # no head yet (genesis): the ORM's own path creates it
        return len(_seal_batch())
    return len(result[1])


def seal_recorded(event: AuditEvent) -> None:
    """After the commit that recorded `event`: see that it is chained, and fill in its fields.

    On PostgreSQL no case opening waits for another's seal (`_sealed_after_commit`): if a batch
    is being sealed, the event is left to that batch's sealer, which seals again after its
    commit while anything is pending; the event's fields then stay empty on this instance.
    Elsewhere (SQLite serialises writers): a cheap look by primary key first, then a batch if
    it is still pending.
    """
    if connection.vendor == "postgresql":
        seal = _sealed_after_commit(event.pk)
        if seal is None:  # left to the sealer at work
            return
    else:
        seal = _look_up_seal(event.pk)
        if seal is None:
            seal = _seal_batch().get(event.pk)  # never BUSY: no sealing lock on SQLite
        if seal is None:  # sealed by the batch that held the lock just before ours
            seal = _stored_seal(event.pk)
    event.sequence, event.prev_hash, event.hash = seal


def _look_up_seal(event_id: int) -> tuple[int, str, str] | None:
    quote = connection.ops.quote_name
    sealed = (
        f"SELECT {quote('sequence')}, {quote('prev_hash')}, {quote('hash')}"
        f" FROM {quote(AuditEvent._meta.db_table)}"
        f" WHERE {quote('id')} = %s AND {quote('sequence')} IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sealed, [event_id])
        return _seal_of(cursor.fetchone())


def _seal_of(row) -> tuple[int, str, str] | None:
    return (int(row[0]), row[1], row[2]) if row is not None else None


# A batch that lost a race with an append (StaleBatch) rolls back and reads again; this many
# tries, then the error is logged by the on-commit hook and the schedule seals the row.
_TRIES = 3

# Rounds a sealer makes while events stay pending after its commit; then it leaves them to the
# next case opening's seal, or the schedule's (one a minute). Under a steady stream of case
# openings each round finds the few committed during the one before.
_ROUNDS = 8


def _sealed_after_commit(event_id: int) -> tuple[int, str, str] | None:
    """PostgreSQL: the event's seal, or None if a sealer at work was left to seal it.

    Why no event is left behind: an event is committed before its try of the lock fails, and
    the lock's holder then commits and looks for pending rows (`_pending_exists`) with a
    snapshot taken after its lock was released, so after that failure: it sees the event, and
    seals again (or finds the lock taken, and leaves it to that holder, under the same rule).
    Only after `_ROUNDS` rounds does a holder leave pending rows to the next seal.
    """
    seal = None
    if connection.get_autocommit() and lock_is_taken():  # the ledger sealer's, most likely
        return seal
    for _ in range(_ROUNDS):
        result = _retrying(seal_own_batch, event_id)
        if result is BUSY:
            return seal
        if result is None:  # no head yet (genesis): the ORM's own path creates it
            batch = _seal_batch()
            if batch is BUSY:
                return seal
            seal = batch.get(event_id) or _stored_seal(event_id)
        elif seal is None:
            seal = result
        if not _pending_exists():
            break
    return seal


def _retrying(seal, event_id: int):
    for attempt in range(_TRIES):
        try:
            return seal(event_id)
        except StaleBatch:
            if attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")


_PENDING_EXISTS: dict[str, tuple[str, tuple]] = {}


def _pending_exists() -> bool:
    """Whether any committed event is still pending (a plain scan of `audit_event_pending`)."""
    if connection.vendor not in _PENDING_EXISTS:
        sql, params = (
            AuditEvent.objects.filter(sequence__isnull=True)
            .values("id")[:1]
            .query.get_compiler(connection=connection)
            .as_sql()
        )
        _PENDING_EXISTS[connection.vendor] = (f"SELECT EXISTS ({sql})", params)
    sql, params = _PENDING_EXISTS[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.fetchone()[0])


def _stored_seal(event_id: int) -> tuple[int | None, str, str | None]:
    return AuditEvent.objects.values_list("sequence", "prev_hash", "hash").get(pk=event_id)
