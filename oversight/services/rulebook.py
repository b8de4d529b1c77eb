"""The judgement points of a journey as plain values, cached per process and always current.

Every gate call evaluates its journey's active judgement points. Loading them as model
instances (points, their conditions, their authority level) cost more than everything else in a
call, so each process keeps them compiled as frozen tuples, keyed by journey, next to a *stamp*:
the number of the journey's points and conditions, the sum of the points' versions and the
latest `updated_at` among them. The stamp is read in the same query that finds the journey
(`with_rules_stamp`), so a call that finds its rules in the cache costs no query for them, and a
call whose stamp differs from the cached one reloads them: a change saved by any process is used
by the next call of every process.

Why the stamp cannot miss a change: every edit of a point goes through `save_judgement_point`,
which raises its version (and `updated_at`), and an edit of a condition counts as an edit of its
point (the admin saves the point after its conditions). Adding or removing a point or a
condition changes a count. As a second line, a save or delete of a point or condition in this
process clears this process's cache (signals below), and an entry older than `MAX_AGE_SECONDS`
is reloaded whatever its stamp.

What is cached is what the gate needs to judge: slugs, names, versions, combinators, sampling
rates and conditions. The case a call opens still loads its points as model instances, fresh.
"""

import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from oversight.models import Journey, JudgementPoint, TriggerCondition

MAX_AGE_SECONDS = 300
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Rule:
    """One active judgement point, as the gate judges by it."""

    id: uuid.UUID
    slug: str
    name: str
    version: int
    combinator: str
    sampling_rate: Decimal
    conditions: tuple[tuple[str, str, Any], ...]  # (signal, operator, value), in order


@dataclass(frozen=True)
class _Entry:
    stamp: tuple
    rules: tuple[Rule, ...]
    loaded_at: float


_cache: dict[uuid.UUID, _Entry] = {}
_lock = threading.Lock()


def _aggregate(queryset: QuerySet, expression) -> Subquery:
    return Subquery(
        queryset.order_by().values("journey_id").annotate(value=expression).values("value")[:1]
    )


def with_rules_stamp(journeys: QuerySet) -> QuerySet:
    """`journeys` annotated with the stamp of their judgement points (four scalar subqueries
    in the same statement, each on the points' or conditions' journey index)."""
    points = JudgementPoint.objects.filter(journey_id=OuterRef("pk"))
    conditions = TriggerCondition.objects.filter(judgement_point__journey_id=OuterRef("pk"))
    return journeys.annotate(
        rules_points=Coalesce(_aggregate(points, Count("pk")), 0),
        rules_versions=Coalesce(_aggregate(points, Sum("version")), 0, output_field=IntegerField()),
        rules_updated=_aggregate(points, Max("updated_at")),
        rules_conditions=Coalesce(
            Subquery(
                conditions.order_by()
                .values("judgement_point__journey_id")
                .annotate(value=Count("pk"))
                .values("value")[:1]
            ),
            0,
        ),
    )


_SYSTEM_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-00000000a1a1")
_SLUG_PLACEHOLDER = "__rulebook_journey_slug__"
_compiled: dict[tuple[str, str], tuple[str, tuple, int, int]] = {}


def _is_system_placeholder(param) -> bool:
    # The backend's form of a UUID: the UUID itself (PostgreSQL) or its hex (SQLite).
    return param == _SYSTEM_PLACEHOLDER or param == _SYSTEM_PLACEHOLDER.hex


def _journey_sql(using: str) -> tuple[str, tuple, int, int]:
    """The SQL of the stamped journey lookup, compiled by the ORM once per database, with the
    positions of its two parameters.

    Compiling the four subqueries cost three times as much as running them, and only the two
    values change between calls. They stay bound parameters: nothing is ever spliced into the
    SQL text, which the ORM wrote with placeholder values in their place.
    """
    key = (using, connections[using].vendor)
    if key not in _compiled:
        query = (
            with_rules_stamp(Journey.objects.using(using))
            .filter(ai_system_id=_SYSTEM_PLACEHOLDER, slug=_SLUG_PLACEHOLDER)
            .order_by()
            .query
        )
        sql, params = query.sql_with_params()
        systems = [i for i, p in enumerate(params) if _is_system_placeholder(p)]
        slugs = [i for i, p in enumerate(params) if p == _SLUG_PLACEHOLDER]
        if len(systems) != 1 or len(slugs) != 1:
            raise ImproperlyConfigured(f"Unexpected parameters of the journey lookup: {params}")
        _compiled[key] = (sql, tuple(params), systems[0], slugs[0])
    return _compiled[key]


def find_stamped_journey(*, ai_system_id: uuid.UUID, slug: str, using: str = DEFAULT_DB_ALIAS):
    """The AI system's journey `slug` with its rules' stamp, in one query; None if it has none.

    The same rows as `with_rules_stamp(Journey.objects).get(ai_system_id=..., slug=...)`,
    without compiling that query on every call.
    """
    sql, template, system_at, slug_at = _journey_sql(using)
    params = list(template)
    placeholder = template[system_at]
    params[system_at] = ai_system_id.hex if isinstance(placeholder, str) else ai_system_id
    params[slug_at] = slug
    found = list(Journey.objects.using(using).raw(sql, params))
    return found[0] if found else None


def _stamp(journey: Journey) -> tuple | None:
    try:
        return (
            journey.rules_points,
            journey.rules_versions,
            journey.rules_updated,
            journey.rules_conditions,
        )
    except AttributeError:  # a journey not loaded through with_rules_stamp
        return None


def _load(journey: Journey) -> tuple[Rule, ...]:
    conditions: dict[uuid.UUID, list] = {}
    for point_id, signal, operator, value in (
        TriggerCondition.objects.filter(
            judgement_point__journey=journey, judgement_point__is_active=True
        )
        .order_by("position", "signal")
        .values_list("judgement_point_id", "signal", "operator", "value")
    ):
        conditions.setdefault(point_id, []).append((signal, operator, value))
    return tuple(
        Rule(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            version=row["version"],
            combinator=row["combinator"],
            sampling_rate=row["sampling_rate"],
            conditions=tuple(conditions.get(row["id"], ())),
        )
        for row in JudgementPoint.objects.filter(journey=journey, is_active=True)
        .order_by("slug")
        .values("id", "slug", "name", "version", "combinator", "sampling_rate")
    )


def rules_for(journey: Journey) -> tuple[Rule, ...]:
    """The journey's active judgement points, ordered by slug: from the cache when its stamp
    still matches the journey's, else loaded (two queries) and cached."""
    stamp = _stamp(journey)
    now = time.monotonic()
    entry = _cache.get(journey.pk)
    if (
        stamp is not None
        and entry is not None
        and entry.stamp == stamp
        and now - entry.loaded_at < MAX_AGE_SECONDS
    ):
        return entry.rules
    rules = _load(journey)
    if stamp is not None:
        with _lock:
            if len(_cache) >= MAX_ENTRIES:
                _cache.clear()
            _cache[journey.pk] = _Entry(stamp=stamp, rules=rules, loaded_at=now)
    return rules


def clear() -> None:
    with _lock:
        _cache.clear()


@receiver(post_save, sender=JudgementPoint, dispatch_uid="rulebook_point_saved")
@receiver(post_delete, sender=JudgementPoint, dispatch_uid="rulebook_point_deleted")
@receiver(post_save, sender=TriggerCondition, dispatch_uid="rulebook_condition_saved")
@receiver(post_delete, sender=TriggerCondition, dispatch_uid="rulebook_condition_deleted")
def _forget(**kwargs) -> None:
    clear()
