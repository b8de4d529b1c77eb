"""The oversight report's decisions taken without effective authority at their moment.

Judged by the one moment-exact rule (`oversight.services.authority`, `AuthorityRecord.judge`),
each decision at its own instant by its recorded grant: a decision counts when it names no grant,
or its grant belongs to someone else, does not cover the case's journey, is of a level that may
not decide, was not on record, not yet valid, expired or revoked at that instant (as the grant's
history recorded it), or its holder lacked a training module the level required then (current on
that UTC day) or the acknowledgement, by then, of the system briefing published by then that the
level required. Each row carries the reasons as flags.

`decisions_outside_authority` judges groups (`GroupJudge`): one grouped query, one record, one
verdict per group whose verdict cannot change inside it, and decision by decision only the
groups where it can. `decisions_outside_authority_one_by_one` streams and judges every decision;
it gives the same answer, and tests hold the grouped one to it.
"""

import contextlib
import datetime
import itertools

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate

from oversight.metrics import Period
from oversight.models import AISystem, Decision, Journey
from oversight.reports.oversight_queries import Bounded
from oversight.services.authority import (
    DECISION_SHORTFALLS,
    AuthorityRecord,
    GroupJudge,
    judge_decisions,
)

JUDGED_PER_CHUNK = 20_000
GROUPS_PER_QUERY = 500  # groups matched by one query (an OR of their keys and instants)


def _batched(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decisions(ai_system: AISystem, period: Period):
    return Decision.objects.filter(
        decided_at__gte=period.start,
        decided_at__lt=period.end,
        case__journey__ai_system=ai_system,
    )


def _matching(keys) -> Q:
    """Decisions of these (reviewer, grant or None, journey, from, to) groups."""
    condition = Q(pk__in=[])
    for reviewer_id, grant_id, journey_id, first, last in keys:
        grant = Q(grant__isnull=True) if grant_id is None else Q(grant_id=grant_id)
        condition |= (
            Q(reviewer_id=reviewer_id, case__journey_id=journey_id)
            & grant
            & Q(decided_at__gte=first, decided_at__lte=last)
        )
    return condition


VALUES = ("pk", "reviewer_id", "grant_id", "decided_at", "case__journey_id")


def decisions_outside_authority(*, ai_system: AISystem, period: Period, limit: int) -> Bounded:
    """Decisions of the period taken without effective authority at that moment (see the
    module), their count and the first `limit` of them in time order, with their reasons.

    One grouped query: (reviewer, grant, journey, UTC day) with count, first and last
    decision. A group with no instant of change of its (reviewer, grant) between its first and
    last decision is judged once and counted whole; the others are read (one query per
    `GROUPS_PER_QUERY` of them) and judged decision by decision. The first `limit` are then
    read from the flagged groups in one query (per `GROUPS_PER_QUERY`). Queries do not grow with
    the number of decisions.
    """
    journeys = {journey.pk: journey for journey in Journey.objects.filter(ai_system=ai_system)}
    decisions = _decisions(ai_system, period)
    groups = list(
        decisions.annotate(day=TruncDate("decided_at", tzinfo=datetime.UTC))
        .values_list("reviewer_id", "grant_id", "case__journey_id", "day")
        .annotate(n=Count("pk"), first=Min("decided_at"), last=Max("decided_at"))
        .order_by()
    )
    judge = GroupJudge(
        AuthorityRecord.load(
            user_ids={group[0] for group in groups},
            grant_ids={group[1] for group in groups if group[1] is not None},
        )
    )
    total, flagged, mixed = 0, [], []
    for reviewer_id, grant_id, journey_id, _day, n, first, last in groups:
        key = (reviewer_id, grant_id, journey_id, first, last)
        if not judge.uniform(reviewer_id, grant_id, first, last):
            mixed.append(key)
        elif codes := judge.codes(reviewer_id, grant_id, journeys[journey_id], first):
            total += n
            flagged.append((key, n, codes))
    singles = []  # (decided_at, pk, codes): flagged decisions of the mixed groups
    for keys in _batched(mixed, GROUPS_PER_QUERY):
        for pk, reviewer_id, grant_id, decided_at, journey_id in decisions.filter(
            _matching(keys)
        ).values_list(*VALUES):
            if codes := judge.codes(reviewer_id, grant_id, journeys[journey_id], decided_at):
                singles.append((decided_at, pk, codes))
    total += len(singles)
    return _listed(_first_flagged(decisions, flagged, singles, limit), total)


def _first_flagged(decisions, flagged: list, singles: list, limit: int) -> dict:
    """{pk: codes} of the first `limit` flagged decisions, by (decided_at, pk)."""
    if limit <= 0:
        return {}
    # By `bound`, at least `limit` flagged decisions had been taken: none later is listed.
    spans = sorted([(key[4], n) for key, n, _ in flagged] + [(s[0], 1) for s in singles])
    bound, seen = None, 0
    for last, n in spans:
        seen += n
        if seen >= limit:
            bound = last
            break
    wanted = [
        ((r, g, j, first, last if bound is None else min(last, bound)), codes)
        for (r, g, j, first, last), _, codes in flagged
        if bound is None or first <= bound
    ]
    codes_of = {(r, g, j, first): codes for (r, g, j, first, _), codes in wanted}
    firsts = {}  # (reviewer, grant, journey, day) -> first of the wanted group that day
    for r, g, j, first, _ in (key for key, _ in wanted):
        firsts[(r, g, j, first.astimezone(datetime.UTC).date())] = first
    candidates = [s for s in singles if bound is None or s[0] <= bound]
    for batch in _batched(wanted, GROUPS_PER_QUERY):
        rows = (
            decisions.filter(_matching([key for key, _ in batch]))
            .order_by("decided_at", "pk")
            .values_list(*VALUES)[:limit]
        )
        for pk, r, g, decided_at, j in rows:
            first = firsts[(r, g, j, decided_at.astimezone(datetime.UTC).date())]
            candidates.append((decided_at, pk, codes_of[(r, g, j, first)]))
    candidates.sort(key=lambda c: (c[0], c[1]))
    return {pk: codes for _, pk, codes in candidates[:limit]}


def _listed(shown: dict, total: int) -> Bounded:
    rows = []
    if shown:
        rows = list(
            Decision.objects.filter(pk__in=list(shown))
            .select_related("reviewer", "case__journey", "grant__level")
            .order_by("decided_at", "pk")
        )
    for row in rows:
        for code in DECISION_SHORTFALLS:
            setattr(row, code, code in shown[row.pk])
    return Bounded(rows, total)


@contextlib.contextmanager
def _whole_stream():
    """On PostgreSQL, a transaction in which a server-side cursor is planned for reading every
    row (by default the planner optimises a cursor for its first tenth)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        yield


def decisions_outside_authority_one_by_one(
    *, ai_system: AISystem, period: Period, limit: int
) -> Bounded:
    """The same answer as `decisions_outside_authority`, every decision of the period streamed
    in chunks of `JUDGED_PER_CHUNK` and judged on its own (`judge_decisions`): the reference
    the grouped form is tested against."""
    journeys = {journey.pk: journey for journey in Journey.objects.filter(ai_system=ai_system)}
    stream = (
        _decisions(ai_system, period)
        .order_by("decided_at", "pk")
        .values_list(*VALUES)
        .iterator(chunk_size=JUDGED_PER_CHUNK)
    )
    total, shown = 0, {}
    with _whole_stream():
        while chunk := list(itertools.islice(stream, JUDGED_PER_CHUNK)):
            decisions = [
                (pk, reviewer_id, grant_id, decided_at, journeys[journey_id])
                for pk, reviewer_id, grant_id, decided_at, journey_id in chunk
            ]
            flagged = judge_decisions(decisions)
            total += len(flagged)
            for decision in decisions:
                if len(shown) >= limit:
                    break
                if decision[0] in flagged:
                    shown[decision[0]] = flagged[decision[0]]
    return _listed(shown, total)
