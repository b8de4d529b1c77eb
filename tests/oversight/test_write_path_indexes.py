"""The tables every gate call and case opening writes carry only indexes something reads.

Every index of a table is written by every INSERT, and a ledger event's by its sealing UPDATE
too (its sequence and hash are indexed, so the update is never HOT). On PostgreSQL Django adds
a second, pattern-ops index beside a `db_index=True` or `unique=True` CharField for LIKE 'x%'
look-ups, which nothing here makes, and a single-column index to every ForeignKey, redundant
where a composite index starts with that column. simple-history copies those onto the history
table, which is read by case and by time only (issue #17).
"""

import pytest
from django.db import connection

from audit.models import AuditEvent
from oversight.models import Case, GateEvaluation

WRITTEN_BY_A_CASE_OPENING = [
    GateEvaluation,
    Case,
    Case.history.model,
    Case.judgement_points.through,
    AuditEvent,
]


def indexes(model) -> list[dict]:
    """Each index of the model's table: name, columns in order, unique, partial, opclasses."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname,
                   array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                         WHERE k.n <= x.indnkeyatts ORDER BY k.n),
                   x.indisunique, x.indpred IS NOT NULL,
                   array(SELECT o.opcname FROM unnest(x.indclass) AS c(oid)
                         JOIN pg_opclass o ON o.oid = c.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass
            """,
            [model._meta.db_table],
        )
        return [
            {"name": name, "columns": columns, "unique": unique, "partial": partial, "ops": ops}
            for name, columns, unique, partial, ops in cursor.fetchall()
        ]


@pytest.mark.django_db
@pytest.mark.parametrize("model", WRITTEN_BY_A_CASE_OPENING, ids=lambda m: m._meta.db_table)
def test_no_pattern_ops_index_on_the_write_path(postgres_only, model):
    pattern = [
        index["name"]
        for index in indexes(model)
        if any(op.endswith("_pattern_ops") for op in index["ops"])
    ]
    assert pattern == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    # Not the points' table: Django creates it, with its own indexes (two rows per case).
    "model",
    [m for m in WRITTEN_BY_A_CASE_OPENING if m is not Case.judgement_points.through],
    ids=lambda m: m._meta.db_table,
)
def test_no_index_is_the_leading_part_of_another(postgres_only, model):
    found = indexes(model)
    redundant = [
        (index["name"], other["name"])
        for index in found
        for other in found
        if index is not other
        and not index["unique"]
        and not index["partial"]
        and not other["partial"]
        and len(index["columns"]) < len(other["columns"])
        and other["columns"][: len(index["columns"])] == index["columns"]
    ]
    assert redundant == []


@pytest.mark.django_db
def test_the_case_history_is_indexed_by_case_time_and_user_only(postgres_only):
    columns = sorted(tuple(index["columns"]) for index in indexes(Case.history.model))
    assert columns == [("history_date", "id"), ("history_id",), ("history_user_id",), ("id",)]


@pytest.mark.django_db
def test_the_ledger_still_refuses_a_second_event_with_the_same_hash(postgres_only):
    """The hash's uniqueness is a constraint now, not unique=True: still enforced."""
    unique = {tuple(index["columns"]) for index in indexes(AuditEvent) if index["unique"]}
    assert {("id",), ("sequence",), ("hash",)} <= unique
