"""One model row's INSERT, its statement written once per model and database, not compiled per
call (the gate's hot path, issue #17).

`insert_row(instance)` writes the row `instance.save(force_insert=True)` writes: each column's
value is the field's `pre_save` then `get_db_prep_save` (exactly what the ORM binds), an
automatic primary key is left to the database and read back, and `pre_save`/`post_save` are
sent as `save()` sends them (so simple-history still writes its history row). The instance
comes back saved (`_state.adding` False). Only for plain models: no parents (multi-table
inheritance), no custom `save()` that does more than refuse updates.
tests/oversight/test_case_opening_rows.py writes rows both ways and compares them column by
column.

`inserts_together()`: on PostgreSQL, the INSERTs made inside the block (`insert_row`,
`insert_statement`) are sent as one statement when the block ends, each in a data-modifying
WITH (a case opening's case, history row, judgement points and event: one round trip instead of
four, issue #17). Each row's values are taken when it is inserted in the block, `pre_save` is
sent then, and `post_save` (and callbacks given to `when_inserted`) once the statement has
written them, in the order they were made. Inside the block nothing may read those rows back.
Elsewhere (SQLite has no INSERT in WITH) every INSERT is sent at once, as without the block.
On PostgreSQL with server-side binding that one statement is sent with `$n` placeholders
(`audit.native_placeholders`): psycopg does not remember the conversion of so long a statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections, router, transaction
from django.db.models.signals import post_save, pre_save

from audit.native_placeholders import applies, native_cursor, numbered

_statements: dict[tuple[type, str, str, bool], tuple[str, list]] = {}


def _statement(model, connection, with_pk: bool) -> tuple[str, list]:
    key = (model, connection.alias, connection.vendor, with_pk)
    if key not in _statements:
        meta = model._meta
        if meta.parents:
            raise TypeError(f"{meta.label} has parent models: save() it instead.")
        qn = connection.ops.quote_name
        fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field]
        columns = ", ".join(qn(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({placeholders})"
        if not with_pk and connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {qn(meta.pk.column)}"
        _statements[key] = (sql, fields)
    return _statements[key]


def insert_row(instance):
    """instance.save(force_insert=True), with the statement written once."""
    model = type(instance)
    meta = model._meta
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
    with_pk = meta.auto_field is None or instance.pk is not None
    sql, fields = _statement(model, connection, with_pk)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    parts = _deferred(using)
    if parts is not None:
        parts.append(_Part(sql, params, instance=instance, returns_pk=not with_pk))
        return instance
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not with_pk:
            if connection.features.can_return_columns_from_insert:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
            setattr(instance, meta.pk.attname, pk)
    _saved(instance, using)
    return instance


def _saved(instance, using: str) -> None:
    instance._state.db = using
    instance._state.adding = False
    post_save.send(
        sender=type(instance),
        instance=instance,
        created=True,
        update_fields=None,
        raw=False,
        using=using,
    )


def insert_statement(using: str, sql: str, params: list) -> None:
    """An INSERT that returns nothing (sent at the end of an `inserts_together` block)."""
    parts = _deferred(using)
    if parts is not None:
        parts.append(_Part(sql, params))
        return
    connection = connections[using]
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(sql, params)


def when_inserted(using: str, callback: Callable[[], None]) -> None:
    """Call `callback` once the INSERTs made so far are written (at once outside a block)."""
    parts = _deferred(using)
    if parts is None:
        callback()
    else:
        parts.append(_Part("", [], callback=callback))


class _Part:
    __slots__ = ("sql", "params", "instance", "returns_pk", "callback")

    def __init__(self, sql, params, instance=None, returns_pk=False, callback=None):
        self.sql, self.params, self.instance = sql, params, instance
        self.returns_pk, self.callback = returns_pk, callback


_blocks = threading.local()  # per thread, as Django's connections are


def _deferred(using: str) -> list[_Part] | None:
    return getattr(_blocks, "parts", {}).get(using)


@contextmanager
def inserts_together(using: str = "default") -> Iterator[None]:
    """The block's INSERTs as one statement on PostgreSQL (see the module's docstring)."""
    connection = connections[using]
    blocks = getattr(_blocks, "parts", None)
    if blocks is None:
        blocks = _blocks.parts = {}
    if connection.vendor != "postgresql" or using in blocks:
        yield  # SQLite, or already inside a block: its statements go with the outer one
        return
    parts = blocks[using] = []
    try:
        yield
    finally:
        del blocks[using]
    _send_together(using, parts)


def _send_together(using: str, parts: list[_Part]) -> None:
    connection = connections[using]
    inserts = [part for part in parts if part.sql]
    returning = [part for part in inserts if part.returns_pk]
    if len(inserts) == 1:
        sql = inserts[0].sql
    elif inserts:
        ctes = ", ".join(f"p{index} AS ({part.sql})" for index, part in enumerate(inserts))
        pks = [
            f"(SELECT {connection.ops.quote_name(part.instance._meta.pk.column)} FROM p{index})"
            for index, part in enumerate(inserts)
            if part.returns_pk
        ]
        sql = f"WITH {ctes} SELECT {', '.join(pks) or '1'}"
    if inserts:
        params = [value for part in inserts for value in part.params]
        native = numbered(sql) if applies(connection) else None
        cursor_of = native_cursor(connection) if native else connection.cursor()
        with transaction.mark_for_rollback_on_error(using=using), cursor_of as cursor:
            cursor.execute(native or sql, params)
            values = cursor.fetchone() if returning else ()
        for part, pk in zip(returning, values, strict=True):
            setattr(part.instance, part.instance._meta.pk.attname, pk)
    for part in parts:
        if part.callback is not None:
            part.callback()
        elif part.instance is not None:
            _saved(part.instance, using)
