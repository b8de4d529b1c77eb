"""A case opening's own seal on PostgreSQL: one transaction, and never a wait (issue #17).

`seal_own_batch` tries the sealing lock; if it is free, it reads the head (locking it) and
every pending row in one statement and seals them all with one UPDATE of the batch and the
head. If the lock is taken it answers BUSY at once: the holder seals the event (the rule is in
`sealing._sealed_after_commit`).
"""

from django.db import connection, transaction

from audit.models import AuditEvent, LedgerHead
from audit.services.hashing import CONTENT_FIELDS, event_hash

# The PostgreSQL advisory lock a sealing batch holds ("ledgseal"), and the ledger sealer for as
# long as it runs: case openings and the schedule try it and leave their events to its holder
# if it is taken; nothing waits for it but a standby sealer.
SEALING_LOCK = 0x6C656467_7365616C


class _Busy:
    """A seal's answer when another transaction holds the sealing lock."""


BUSY = _Busy()


def lock_is_taken() -> bool:
    """Whether another session holds the sealing lock now: one statement, outside a transaction
    (the lock, if it was free, is released as the statement ends). While the ledger sealer runs
    this is a case opening's whole seal, where BEGIN, the try and ROLLBACK would be three."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEALING_LOCK])
        return not cursor.fetchone()[0]


class StaleBatch(RuntimeError):
    """The batch read pending rows that an append under the head lock sealed meanwhile."""


def seal_own_batch(event_id: int):
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
    result = seal_batch_with(event_id)
    if result is BUSY or result is None:
        return result
    own, sealed = result
    return own if own is not None else sealed.get(event_id)


def seal_batch_with(event_id: int):
    """`seal_own_batch`'s one transaction: BUSY, None (no head yet), or (the seal `event_id` had
    already, or None; {id: seal} of the rows this batch sealed). The ledger sealer, which holds
    the sealing lock for its session (and so always gets it again here), passes 0: no event."""
    read_sql, update_sql, converters = own_batch_sql()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_FOR_OWN_BATCH, [SEALING_LOCK])
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
                sequence=sequence,
                prev_hash=prev_hash,
                **dict(zip(CONTENT_FIELDS, values, strict=True)),
            )
            sealed[row[2]] = (sequence, prev_hash, this_hash)
            prev_hash = this_hash
        if not sealed:
            transaction.set_rollback(True)
            return own, sealed
        params = [value for event_id_, seal in sealed.items() for value in (event_id_, *seal)]
        with connection.cursor() as cursor:
            cursor.execute(update_sql(len(sealed)), [*params, sequence, prev_hash])
            changed = cursor.fetchone()[0]
        if changed != len(sealed):
            raise StaleBatch(f"sealing {len(sealed)} pending ledger events changed {changed} rows")
    return own, sealed


# The sealing lock if it is free (a case opening never waits for another's seal), and (for this
# transaction only) no bitmap scans: the pending rows are read
# by a plain scan of the partial index `audit_event_pending`, which marks the entries of rows
# sealed since the last VACUUM as dead as it passes them, so the next read skips them. A bitmap
# scan marks nothing and visits the heap page of every sealed row still in the index: with
# autovacuum lagging (or off), every seal read thousands of pages (issue #17).
LOCK_FOR_OWN_BATCH = (
    "SELECT pg_try_advisory_xact_lock(%s), set_config('enable_bitmapscan', 'off', true)"
)

_OWN_BATCH: dict[str, tuple] = {}


def own_batch_sql():
    """The read and the update of `seal_own_batch`, written once, and the ORM's converters of
    the hashed columns (indexed from the first of them)."""
    if "sql" not in _OWN_BATCH:
        quote = connection.ops.quote_name
        events = quote(AuditEvent._meta.db_table)
        head = quote(LedgerHead._meta.db_table)
        hashed = ", ".join(
            f"e.{quote(AuditEvent._meta.get_field(name).column)}" for name in CONTENT_FIELDS
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

        queryset = AuditEvent.objects.values_list(*CONTENT_FIELDS)
        compiler = queryset.query.get_compiler(connection=connection)
        compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        _OWN_BATCH["sql"] = (read_sql, update_sql, converters)
    return _OWN_BATCH["sql"]
