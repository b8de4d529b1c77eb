"""The API key, its AI system and (for the gate) the journey with its rules' stamp, in ONE query.

Every API request authenticates through `read_key_and_journey`; only the gate asks for a
journey. The statement is written once per database from the models' metadata (compiling the
ORM's query on every request cost more than running it).

A gate call needs to read three things before it can write its evaluation: the key (is it still
valid? revocation must take effect on the very next call, so it is read every time, never
cached), the key's AI system (active?), and the journey named in the body with the stamp of its
judgement points (`oversight.services.rulebook`: the rules themselves are cached per process and
used while the stamp matches). They are read in one statement:

    key  INNER JOIN  its AI system  LEFT JOIN  the system's journey with that slug
         + the four stamp subqueries of that journey

so an automating call costs this read and its INSERT. The rows become model instances exactly
as the ORM would make them (each column through the backend's and the field's converters).

This is the same lookup as the ORM's `AISystemAPIKey.objects.select_related("ai_system")
.filter(prefix=..., revoked=False)` plus the same journey lookup as
`rulebook.find_stamped_journey` (the system's journey by slug, same stamp); tests
(tests/oversight/api/test_gate_one_read.py) hold them to the same rows.
"""

import json

from django.core.signals import request_started
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.dispatch import receiver

from oversight.models import AISystem, AISystemAPIKey, Journey, JudgementPoint, TriggerCondition

STAMP_NAMES = ("rules_points", "rules_versions", "rules_updated", "rules_conditions")

_compiled: dict[tuple[str, str, bool], tuple[str, list]] = {}


def journey_slug_in(body: bytes) -> str | None:
    """The `journey` of a JSON body, or None when the body is not a JSON object naming one.

    Only a hint for the combined read: the body is still parsed and validated as usual, and a
    hint that differs from the validated slug is ignored.
    """
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
    slug = data.get("journey") if isinstance(data, dict) else None
    return slug if isinstance(slug, str) and 0 < len(slug) <= 80 and "\x00" not in slug else None


def _sql(using: str, with_journey: bool) -> tuple[str, list]:
    """The statement and, per selected column, (expression, converters) or None; built once per
    database (the values are bound parameters, never part of the text)."""
    connection = connections[using]
    key = (using, connection.vendor, with_journey)
    if key in _compiled:
        return _compiled[key]
    qn = connection.ops.quote_name

    def table(model) -> str:
        return qn(model._meta.db_table)

    def col(alias: str, model, name: str) -> str:
        return f"{alias}.{qn(model._meta.get_field(name).column)}"

    models = (("k", AISystemAPIKey), ("s", AISystem)) + ((("j", Journey),) if with_journey else ())
    columns, selected = [], []
    for alias, model in models:
        for field in model._meta.concrete_fields:
            columns.append(f"{alias}.{qn(field.column)}")
            selected.append(field)
    joins = (
        f"INNER JOIN {table(AISystem)} s ON {col('s', AISystem, 'id')} = "
        f"{col('k', AISystemAPIKey, 'ai_system')}"
    )
    if with_journey:
        point, condition = JudgementPoint, TriggerCondition
        points_of_j = (
            f"FROM {table(point)} p WHERE {col('p', point, 'journey')} = {col('j', Journey, 'id')}"
        )
        columns += [
            f"(SELECT COUNT(*) {points_of_j})",
            f"(SELECT COALESCE(SUM({col('p', point, 'version')}), 0) {points_of_j})",
            f"(SELECT MAX({col('p', point, 'updated_at')}) {points_of_j})",
            f"(SELECT COUNT(*) FROM {table(condition)} c INNER JOIN {table(point)} p "
            f"ON {col('c', condition, 'judgement_point')} = {col('p', point, 'id')} "
            f"WHERE {col('p', point, 'journey')} = {col('j', Journey, 'id')})",
        ]
        # The stamp stays as the database returns it, as in `rulebook.find_stamped_journey` (a
        # raw query: its annotations are not converted), so both reads give equal stamps.
        selected += [None] * len(STAMP_NAMES)
        joins += (
            f" LEFT OUTER JOIN {table(Journey)} j ON ({col('j', Journey, 'ai_system')} = "
            f"{col('k', AISystemAPIKey, 'ai_system')} AND {col('j', Journey, 'slug')} = %s)"
        )
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(AISystemAPIKey)} k {joins} "
        f"WHERE {col('k', AISystemAPIKey, 'prefix')} = %s "
        f"AND {col('k', AISystemAPIKey, 'revoked')} = %s"
    )
    converters = []
    for field in selected:
        if field is None:
            converters.append(None)
            continue
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        converters.append((expression, found) if found else None)
    _compiled[key] = (sql, converters)
    return _compiled[key]


# --- The connection's health check, done by this read on the API's paths ---------------------
#
# With CONN_HEALTH_CHECKS, Django pings a reused connection ("SELECT 1") before a request's first
# statement: a round trip on every API call. On the API's paths that statement is always this
# read (authentication comes first, and a request without a key reads nothing), and it is a
# read outside any transaction: so Django's ping is skipped there, and should the read find the
# connection dead, it reconnects and reads once more, which is what the ping would have led to.
# A connection that dies later in the request fails as before (503, nothing written).

API_PATH = "/api/v1/"


@receiver(request_started, dispatch_uid="key_lookup_defers_the_health_check")
def _defer_health_check(sender, environ=None, **kwargs) -> None:
    api = (environ or {}).get("PATH_INFO", "").startswith(API_PATH)
    for connection in connections.all(initialized_only=True):
        connection.health_check_deferred = False
        if api and connection.health_check_enabled and not connection.health_check_done:
            connection.health_check_done = True  # Django's ping: not this time
            connection.health_check_deferred = True  # _fetch_one checks instead


def _fetch_one(connection, sql: str, params: list):
    deferred = getattr(connection, "health_check_deferred", False)
    connection.health_check_deferred = False
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if not deferred or connection.in_atomic_block:
            raise
    connection.close()  # died since its last request: a new connection, as the ping would
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _instance(model, values: list, using: str):
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(using, names, values)


def read_key_and_journey(
    *, prefix: str, journey_slug: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> tuple[AISystemAPIKey | None, Journey | None]:
    """The unrevoked key with this prefix (its `ai_system` loaded) and, if `journey_slug` is
    given, that system's journey with this slug annotated with its rules' stamp. (None, None)
    without such a key; (key, None) when no journey was asked for or the system has no such
    journey. One query."""
    with_journey = journey_slug is not None
    sql, converters = _sql(using, with_journey)
    connection = connections[using]
    params = [journey_slug, prefix, False] if with_journey else [prefix, False]
    row = _fetch_one(connection, sql, params)
    if row is None:
        return None, None
    values = list(row)
    for index, conversion in enumerate(converters):
        if conversion is not None:
            expression, found = conversion
            for converter in found:
                values[index] = converter(values[index], expression, connection)
    key_end = len(AISystemAPIKey._meta.concrete_fields)
    system_end = key_end + len(AISystem._meta.concrete_fields)
    api_key = _instance(AISystemAPIKey, values[:key_end], using)
    ai_system = _instance(AISystem, values[key_end:system_end], using)
    api_key.ai_system = ai_system
    if not with_journey:
        return api_key, None
    journey_end = system_end + len(Journey._meta.concrete_fields)
    journey_values = values[system_end:journey_end]
    if journey_values[0] is None:  # no journey of this system has that slug
        return api_key, None
    journey = _instance(Journey, journey_values, using)
    journey.ai_system = ai_system
    for name, value in zip(STAMP_NAMES, values[journey_end:], strict=True):
        setattr(journey, name, value)
    return api_key, journey
