"""Long statements sent with PostgreSQL's own placeholders ($1, $2, ...), not Python's %s.

psycopg turns `%s` into `$n` by scanning the statement on every call, and remembers the result
only for statements of at most 50 parameters (psycopg/_queries.py: a cache of ORM-made
multi-row INSERTs would grow without bound). A case opening's one INSERT (`row_insert.
inserts_together`) has about 90, so it was scanned on every call: about 0.15 ms of a 2.7 ms
case opening (issue #17). Its few shapes are numbered here once, and sent through a cursor that
takes `$n` as they are: psycopg's `RawCursor` behaviour, on the connection's own cursor class
(so django-prometheus still counts the statement) inside Django's cursor wrapper (so query
logging, execute wrappers and database errors are as for every other statement).

Only where the connection binds parameters on the server (`server_side_binding`, on by
default in hitl_project/env.py) and does not log queries (`applies`): otherwise, as with
client-side binding for PgBouncer in transaction mode, the ordinary cursor sends them.
"""

from __future__ import annotations

from contextlib import contextmanager

# The statements' shapes numbered so far; a case opening has a handful (one per number of
# matched judgement points). Past this many, a shape is numbered on each call.
_MAX_SHAPES = 64

_numbered: dict[str, str | None] = {}

# The raw cursor class made for each connection's cursor class. The product's counting backends
# (hitl_project.counting_backends) keep one cursor class per database, but django-prometheus's
# own make a new one for every new connection (CONN_MAX_AGE, reconnects): should they be used,
# the classes of closed connections are let go once there are this many.
_MAX_CURSOR_CLASSES = 16
_cursor_classes: dict[type, type] = {}


def numbered(sql: str) -> str | None:
    """`sql` with its `%s` placeholders as $1, $2, ...; None if it holds any other `%`."""
    if sql in _numbered:
        return _numbered[sql]
    pieces = sql.split("%s")
    if any("%" in piece for piece in pieces):
        result = None  # a literal %, or a named placeholder: psycopg's own conversion
    else:
        result = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))
    if len(_numbered) < _MAX_SHAPES:
        _numbered[sql] = result
    return result


def applies(connection) -> bool:
    """Whether statements may be sent with `$n` on `connection`: it binds parameters on the
    server, and does not log queries (Django's query log renders a statement by its `%s`, so
    while it logs, in DEBUG and in tests that count queries, the ordinary cursor sends it)."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") is True
        and not connection.queries_logged
    )


@contextmanager
def native_cursor(connection):
    """Django's cursor wrapper around a psycopg cursor that takes `$n` placeholders as sent
    (where `applies`)."""
    from psycopg.raw_cursor import RawCursorMixin

    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    connection.validate_thread_sharing()
    factory = connection.connection.cursor_factory
    if factory not in _cursor_classes:
        if len(_cursor_classes) >= _MAX_CURSOR_CLASSES:
            _cursor_classes.clear()
        _cursor_classes[factory] = type(f"Raw{factory.__name__}", (RawCursorMixin, factory), {})
    with connection.wrap_database_errors:
        raw = _cursor_classes[factory](connection.connection)
    with connection.make_cursor(raw) as cursor:
        yield cursor
