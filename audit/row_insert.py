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
"""

from __future__ import annotations

from django.db import connections, router, transaction
from django.db.models.signals import post_save, pre_save

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
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not with_pk:
            if connection.features.can_return_columns_from_insert:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
            setattr(instance, meta.pk.attname, pk)
    instance._state.db = using
    instance._state.adding = False
    post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=using
    )
    return instance
