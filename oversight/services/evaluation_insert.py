"""The gate evaluation's INSERT, its statement written once per database, not compiled per call.

Building and compiling the ORM's INSERT for a GateEvaluation (17 columns) was about a fifth of an
automating gate call's CPU. This writes the same row the same way `GateEvaluation.objects.create`
does: the instance is made by the model (defaults: id, created_at), each column's value is the
field's `pre_save` then `get_db_prep_save` (exactly what the ORM binds), the statement names
every concrete column, and `pre_save`/`post_save` are sent as `save()` sends them. The instance
comes back saved (`_state.adding` False), so the model's insert-only `save()` and `delete()`
still refuse it. Inside `audit.row_insert.inserts_together` (a case opening) the INSERT goes
with the block's statement, and post_save once it is written.
tests/oversight/test_evaluation_insert.py writes the same evaluation both ways and compares the
rows column by column (SQLite and PostgreSQL).
"""

from __future__ import annotations

from django.db import connections, router
from django.db.models.signals import post_save, pre_save

from audit.row_insert import insert_statement, when_inserted
from oversight.models import GateEvaluation

_statements: dict[tuple[str, str], str] = {}


def _statement(connection) -> str:
    key = (connection.alias, connection.vendor)
    if key not in _statements:
        qn = connection.ops.quote_name
        fields = GateEvaluation._meta.local_concrete_fields
        columns = ", ".join(qn(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        table = qn(GateEvaluation._meta.db_table)
        _statements[key] = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    return _statements[key]


def insert_evaluation(**values) -> GateEvaluation:
    """GateEvaluation.objects.create(**values), with the statement written once."""
    evaluation = GateEvaluation(**values)
    using = router.db_for_write(GateEvaluation, instance=evaluation)
    connection = connections[using]
    pre_save.send(
        sender=GateEvaluation, instance=evaluation, raw=False, using=using, update_fields=None
    )
    params = [
        field.get_db_prep_save(field.pre_save(evaluation, True), connection)
        for field in GateEvaluation._meta.local_concrete_fields
    ]
    insert_statement(using, _statement(connection), params)  # or at the end of the block

    def saved() -> None:
        evaluation._state.db = using
        evaluation._state.adding = False
        post_save.send(
            sender=GateEvaluation,
            instance=evaluation,
            created=True,
            update_fields=None,
            raw=False,
            using=using,
        )

    when_inserted(using, saved)
    return evaluation
