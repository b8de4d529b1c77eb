"""Sealing: giving recorded-but-pending events their place in the chain, in batches.

A case opening must not hold the one ledger-head lock until its COMMIT, or every case opening
waits for the one before it (issue #17). So it records its event without chain fields
(`record_event`: sequence and hash NULL, prev_hash ""), commits, and then seals: under the
head lock, every pending row that is committed by then gets the next sequence, the previous
hash and its own hash, in `id` order, in one UPDATE, and the head moves to the last of them.
Whoever takes the lock seals everyone's pending rows, so under load one transaction (one WAL
flush) chains a whole batch. After a case opening on PostgreSQL that is one transaction of three
statements between BEGIN and COMMIT (`_seal_own_batch`): the sealing lock, one read of the head
(locked) and the pending rows, one UPDATE of the batch and the head. A case opening that finds
the sealing lock taken does not wait: the holder seals again after its commit while anything is
pending, so the event is chained moments later (`_sealed_after_commit` says why none is missed).

Why the chain stays one gap-free, verifiable sequence: a sequence and a prev_hash are given only
under the head lock, to rows that are already committed (a rollback can no longer take them
away), and the head advances in the same transaction; a sealing transaction that fails rolls
back as a whole and leaves its rows pending for the next one. The hash is `event_hash()` as
ever, over `occurred_at` as recorded at insert. On PostgreSQL the row trigger lets exactly this
UPDATE through (audit/protection.py): pending -> sealed, nothing else changed.
"""

from django.db import connection, transaction

from audit.models import AuditEvent, LedgerHead
from audit.services.hashing import CONTENT_FIELDS, GENESIS_HASH, event_hash

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


# The PostgreSQL advisory lock a sealing batch holds ("ledgseal"): case openings try it and
# leave their event to its holder if it is taken; the schedule waits for it.
SEALING_LOCK = 0x6C656467_7365616C


def _seal_batch() -> dict[int, tuple[int, str, str]]:
    """Lock the head and chain every pending row committed by then, in one transaction.

    With nothing to seal it rolls back rather than commits: nothing to flush, so callers that
    queued behind a batch which already sealed their events leave almost for free. The head is
    read and written by statements written once (`_head_sql`), the ORM's own after genesis:
    this runs after every case opening (issue #17).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALING_LOCK])
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


def seal_pending() -> int:
    """Chain every committed pending event now; returns how many (the schedule's safety net).

    Waits for any batch being sealed, then seals what is left, and seals again while events
    remain pending after its lock is released: a case opening that found the lock taken while
    this ran left its event to it (`seal_recorded`).
    """
    sealed = len(_seal_batch())
    for _ in range(_ROUNDS):
        if not _pending_exists():
            break
        sealed += len(_seal_batch())
    return sealed


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
            seal = _seal_batch().get(event.pk)
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


class StaleBatch(RuntimeError):
    """The batch read pending rows that an append under the head lock sealed meanwhile."""


# A batch that lost a race with an append (StaleBatch) rolls back and reads again; this many
# tries, then the error is logged by the on-commit hook and the schedule seals the row.
_TRIES = 3

# Rounds a sealer makes while events stay pending after its commit; then it leaves them to the
# next case opening's seal, or the schedule's (one a minute). Under a steady stream of case
# openings each round finds the few committed during the one before.
_ROUNDS = 8


class _Busy:
    """`_seal_own_batch`'s answer when another transaction holds the sealing lock."""


BUSY = _Busy()


def _sealed_after_commit(event_id: int) -> tuple[int, str, str] | None:
    """PostgreSQL: the event's seal, or None if a sealer at work was left to seal it.

    Why no event is left behind: an event is committed before its try of the lock fails, and
    the lock's holder then commits and looks for pending rows (`_pending_exists`) with a
    snapshot taken after its lock was released, so after that failure: it sees the event, and
    seals again (or finds the lock taken, and leaves it to that holder, under the same rule).
    Only after `_ROUNDS` rounds does a holder leave pending rows to the next seal.
    """
    seal = None
    for _ in range(_ROUNDS):
        result = _own_batch_retrying(event_id)
        if result is BUSY:
            return seal
        if result is None:  # no head yet (genesis): the ORM's own path creates it
            seal = _seal_batch().get(event_id) or _stored_seal(event_id)
        elif seal is None:
            seal = result
        if not _pending_exists():
            break
    return seal


def _own_batch_retrying(event_id: int):
    for attempt in range(_TRIES):
        try:
            return _seal_own_batch(event_id)
        except StaleBatch:
            if attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")


_PENDING_EXISTS: dict[str, str] = {}


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


def _seal_own_batch(event_id: int):
    """PostgreSQL: the event's seal, sealing it and every pending row with it if need be; BUSY
    if another transaction holds the sealing lock.

    Three statements when the lock is taken (BEGIN, the try of the exclusive advisory lock,
    ROLLBACK), four when a batch before ours sealed the event (the read before ROLLBACK), five
    when ours seals it (the read, then one UPDATE of the batch and the head, COMMIT). The lock
    is its own statement, so the read after it has a new snapshot that sees what the batch
    before committed. The read locks the head (FOR
    UPDATE, held to COMMIT): sequences are given only under the head lock, to committed rows.
    If that lock had to wait for an append (which takes the head lock without the advisory
    lock), the read's snapshot may still show rows the append sealed as pending: the UPDATE
    then changes fewer rows than it should, and the whole batch rolls back (StaleBatch) and is
    read again. Returns None if there is no head row yet.
    """
    read_sql, update_sql, converters = _own_batch_sql()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_FOR_OWN_BATCH, [SEALING_LOCK])
            if not cursor.fetchone()[0]:
                transaction.set_rollback(True)
                return BUSY
            cursor.execute(read_sql, [event_id])
            rows = cursor.fetchall()
        if not rows:
            transaction.set_rollback(True)
            return None
        sequence, prev_hash = rows[0][0], rows[0][1]
        own, sealed = None, {}
        for row in rows:
            if row[2] is None:  # the head alone: nothing pending, and not the event
                continue
            if row[3] is not None:  # the event itself, already sealed
                own = (int(row[3]), row[4], row[5])
                continue
            values = list(row[6:])
            for index, (functions, expression) in converters.items():
                for function in functions:
                    values[index] = function(values[index], expression, connection)
            sequence += 1
            this_hash = event_hash(
                sequence=sequence, prev_hash=prev_hash, **dict(zip(_HASHED, values, strict=True))
            )
            sealed[row[2]] = (sequence, prev_hash, this_hash)
            prev_hash = this_hash
        if not sealed:
            transaction.set_rollback(True)
            return own
        params = [value for event_id_, seal in sealed.items() for value in (event_id_, *seal)]
        with connection.cursor() as cursor:
            cursor.execute(update_sql(len(sealed)), [*params, sequence, prev_hash])
            changed = cursor.fetchone()[0]
        if changed != len(sealed):
            raise StaleBatch(f"sealing {len(sealed)} pending ledger events changed {changed} rows")
    return own if own is not None else sealed.get(event_id)


# The sealing lock if it is free (a case opening never waits for another's seal), and (for this
# transaction only) no bitmap scans: the pending rows are read
# by a plain scan of the partial index `audit_event_pending`, which marks the entries of rows
# sealed since the last VACUUM as dead as it passes them, so the next read skips them. A bitmap
# scan marks nothing and visits the heap page of every sealed row still in the index: with
# autovacuum lagging (or off), every seal read thousands of pages (issue #17).
_LOCK_FOR_OWN_BATCH = (
    "SELECT pg_try_advisory_xact_lock(%s), set_config('enable_bitmapscan', 'off', true)"
)

_OWN_BATCH: dict[str, tuple] = {}


def _own_batch_sql():
    """The read and the update of `_seal_own_batch`, written once, and the ORM's converters of
    the hashed columns (indexed from the first of them)."""
    if "sql" not in _OWN_BATCH:
        quote = connection.ops.quote_name
        events = quote(AuditEvent._meta.db_table)
        head = quote(LedgerHead._meta.db_table)
        hashed = ", ".join(
            f"e.{quote(AuditEvent._meta.get_field(name).column)}" for name in _HASHED
        )
        seq, prev, hash_ = quote("sequence"), quote("prev_hash"), quote("hash")
        columns = f"e.{quote('id')}, e.{seq}, e.{prev}, e.{hash_}, {hashed}"
        read_sql = (
            f"WITH h AS (SELECT {seq}, {hash_} FROM {head} WHERE {quote('singleton')} = 1"
            f" FOR UPDATE) SELECT h.{seq}, h.{hash_}, e.* FROM h LEFT JOIN"
            f" (SELECT {columns} FROM {events} e WHERE e.{seq} IS NULL"
            f" UNION ALL SELECT {columns} FROM {events} e"
            f" WHERE e.{quote('id')} = %s AND e.{seq} IS NOT NULL) e ON TRUE"
            f" ORDER BY e.{quote('id')}"
        )
        statements: dict[int, str] = {}

        def update_sql(count: int) -> str:
            """One statement: the batch's rows (only while pending) and the head after them;
            it returns how many rows it sealed."""
            if count in statements:
                return statements[count]
            values = ", ".join(["(%s, %s, %s, %s)"] * count)
            sql = (
                f"WITH sealed AS (UPDATE {events} SET {seq} = v.column2, {prev} = v.column3,"
                f" {hash_} = v.column4 FROM (VALUES {values}) AS v"
                f" WHERE {events}.{quote('id')} = v.column1 AND {events}.{seq} IS NULL"
                f" RETURNING 1) UPDATE {head} SET {seq} = %s, {hash_} = %s"
                f" WHERE {quote('singleton')} = 1 RETURNING (SELECT count(*) FROM sealed)"
            )
            if count <= 32:  # the usual batch sizes; a backlog's batch is written each time
                statements[count] = sql
            return sql

        queryset = AuditEvent.objects.values_list(*_HASHED)
        compiler = queryset.query.get_compiler(connection=connection)
        compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        _OWN_BATCH["sql"] = (read_sql, update_sql, converters)
    return _OWN_BATCH["sql"]
