"""A new case's judgement points, written as `case.judgement_points.add(*points)` writes them.

With no m2m_changed receiver connected, Django's `add()` ("fast add") is one INSERT of the
through rows that ignores conflicts; getting there through the related manager (a manager class
made per access, a queryset, bulk_create's compiler) was a visible part of a case opening's CPU
(issue #17). This sends the same INSERT, written once per database and number of points. If an
m2m_changed receiver is connected, `add()` itself is used, so the signals are sent as before.
tests/oversight/test_case_opening_rows.py compares the rows both ways.
"""

from __future__ import annotations

import uuid

from django.db import connections, router
from django.db.models.constants import OnConflict
from django.db.models.signals import m2m_changed

from audit.row_insert import insert_statement, when_inserted
from oversight.models import Case, JudgementPoint

_statements: dict[tuple[str, str, int], str] = {}


def _through_fields():
    through = Case.judgement_points.through
    field = Case._meta.get_field("judgement_points")
    return (
        through,
        through._meta.get_field(field.m2m_field_name()),
        through._meta.get_field(field.m2m_reverse_field_name()),
    )


def _statement(connection, count: int) -> str:
    key = (connection.alias, connection.vendor, count)
    if key not in _statements:
        through, case_fk, point_fk = _through_fields()
        qn = connection.ops.quote_name
        fields = [case_fk, point_fk]
        insert = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
        values = ", ".join(["(%s, %s)"] * count)
        suffix = connection.ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
        _statements[key] = (
            f"{insert} {qn(through._meta.db_table)} ({qn(case_fk.column)}, {qn(point_fk.column)})"
            f" VALUES {values} {suffix}".rstrip()
        )
    return _statements[key]


def add_judgement_points(case: Case, points: list[JudgementPoint]) -> None:
    """case.judgement_points.add(*points), for a case whose INSERT was just written."""
    through = Case.judgement_points.through
    if not points:
        return
    using = router.db_for_write(through, instance=case)
    if m2m_changed.has_listeners(through):
        # Once the case's row is written (inside `inserts_together` it is not yet).
        when_inserted(using, lambda: case.judgement_points.add(*points))
        return
    connection = connections[using]
    _, case_fk, point_fk = _through_fields()
    case_value = case_fk.get_db_prep_save(case.pk, connection)
    params = []
    for point_id in dict.fromkeys(point.pk for point in points):  # add() drops repeats too
        params += [case_value, point_fk.get_db_prep_save(point_id, connection)]
    insert_statement(using, _statement(connection, len(params) // 2), params)


_READS: dict[tuple[str, int], tuple[str, list, list]] = {}


def _read_statement(connection, count: int):
    """The ORM's query for `points_with_levels`, compiled once per database and number of ids,
    and the converters of its columns (as the compiler applies them)."""
    key = (connection.vendor, count)
    if key not in _READS:
        queryset = (
            JudgementPoint.objects.filter(pk__in=[uuid.UUID(int=n) for n in range(count)])
            .select_related("required_level")
            .order_by("slug")
        )  # the ids only stand in for the placeholders
        compiler = queryset.query.get_compiler(connection=connection)
        sql, _ = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(columns)
        _READS[key] = (sql, columns, converters)
    return _READS[key]


def points_with_levels(ids: list) -> list[JudgementPoint]:
    """`JudgementPoint.objects.filter(pk__in=ids).select_related("required_level")
    .order_by("slug")`: the same statement and instances, without compiling the query on every
    case opening. tests/oversight/test_case_opening_rows.py compares both."""
    from oversight.models import AuthorityLevel

    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    using = router.db_for_read(JudgementPoint)
    connection = connections[using]
    sql, columns, converters = _read_statement(connection, len(ids))
    pk = JudgementPoint._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk.get_db_prep_value(value, connection) for value in ids])
        rows = cursor.fetchall()
    point_fields = JudgementPoint._meta.concrete_fields
    level_fields = AuthorityLevel._meta.concrete_fields
    if [column.target for column in columns] != [*point_fields, *level_fields]:
        raise RuntimeError("the judgement points' query does not read the columns expected")
    names = [field.attname for field in point_fields]
    level_names = [field.attname for field in level_fields]
    cache = JudgementPoint._meta.get_field("required_level")
    points = []
    for row in rows:
        row = list(row)
        for index, (functions, expression) in converters.items():
            for function in functions:
                row[index] = function(row[index], expression, connection)
        point = JudgementPoint.from_db(using, names, row[: len(names)])
        level = AuthorityLevel.from_db(using, level_names, row[len(names) :])
        cache.set_cached_value(point, level)
        points.append(point)
    return points
