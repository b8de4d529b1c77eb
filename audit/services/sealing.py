"""Sealing: giving recorded-but-pending events their place in the chain, in batches.

A case opening must not hold the one ledger-head lock until its COMMIT, or every case opening
waits for the one before it (issue #17). So it records its event without chain fields
(`record_event`: sequence and hash NULL, prev_hash ""), commits, and then seals: under the
head lock, every pending row that is committed by then gets the next sequence, the previous
hash and its own hash, in `id` order, in one UPDATE, and the head moves to the last of them.
Whoever takes the lock seals everyone's pending rows, so under load one transaction (one WAL
flush) chains a whole batch.

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


# The PostgreSQL advisory lock a sealing batch holds (exclusive) and that callers waiting for a
# running batch take shared ("ledgseal").
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

    Takes the head lock, so it waits for any other sealer or append, then seals what they left.
    """
    return len(_seal_batch())


def seal_recorded(event: AuditEvent) -> None:
    """After the commit that recorded `event`: make sure it is chained, and fill in its fields.

    A cheap look first (by primary key), after any batch being sealed right now has committed:
    that batch may have sealed it already.
    """
    seal = _after_running_batch(event.pk)
    if seal is None:
        seal = _seal_batch().get(event.pk)
    if seal is None:  # sealed by the batch that held the lock just before ours
        seal = AuditEvent.objects.values_list("sequence", "prev_hash", "hash").get(pk=event.pk)
    event.sequence, event.prev_hash, event.hash = seal


def _after_running_batch(event_id: int) -> tuple[int, str, str] | None:
    """The event's seal if it has one, looked up once a batch being sealed now has committed.

    On PostgreSQL the wait is a shared advisory lock against the batch's exclusive one: every
    caller a batch sealed is released at once when it commits, instead of each taking the head
    lock in turn only to find nothing left to seal. Elsewhere (SQLite serialises writers) it
    is a plain look.
    """
    quote = connection.ops.quote_name
    sealed = (
        f"SELECT {quote('sequence')}, {quote('prev_hash')}, {quote('hash')}"
        f" FROM {quote(AuditEvent._meta.db_table)}"
        f" WHERE {quote('id')} = %s AND {quote('sequence')} IS NOT NULL"
    )
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sealed, [event_id])
            return _seal_of(cursor.fetchone())
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SEALING_LOCK])
            # A new statement, so a new snapshot: it sees what the batch committed.
            cursor.execute(sealed, [event_id])
            seal = _seal_of(cursor.fetchone())
        transaction.set_rollback(True)
    return seal


def _seal_of(row) -> tuple[int, str, str] | None:
    return (int(row[0]), row[1], row[2]) if row is not None else None
