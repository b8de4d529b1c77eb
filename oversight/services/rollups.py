"""Daily summaries of gate calls (GateDay), so figures over months do not scan every call.

`roll_up_gate_days` summarises every closed UTC day not yet summarised, oldest first; a
django-q2 schedule runs it every quarter of an hour. A day is closed `GRACE` after its end, so a
call still being written at midnight lands in its day before the day is summarised. The gate
evaluations are insert-only, so a summarised day never changes, except by the retention purge,
which calls `recompute_gate_days` for the days it thinned.

The metrics (`oversight.metrics.breakdown`) read summaries for the whole days they cover and
the gate evaluations themselves for the rest (the period's partial first and last days, and
days not summarised yet), so figures are the same whether or not the task has run.
"""

import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from oversight.metrics import BLOCKED, ROUTED, utc_midnight
from oversight.models import GateDay, GateEvaluation, GateRollup

GRACE = datetime.timedelta(minutes=10)
DAYS_PER_STEP = 31


def _summaries(first: datetime.date, end: datetime.date) -> list[GateDay]:
    """GateDay rows for the days [first, end), from the gate evaluations (one GROUP BY)."""
    rows = (
        GateEvaluation.objects.filter(
            created_at__gte=utc_midnight(first), created_at__lt=utc_midnight(end)
        )
        .order_by()
        .values("journey_id", "ai_system_id", day=TruncDate("created_at", tzinfo=datetime.UTC))
        .annotate(
            calls=Count("pk"),
            routed=Count("pk", filter=Q(route__in=ROUTED)),
            blocked=Count("pk", filter=Q(route__in=BLOCKED)),
        )
    )
    return [
        GateDay(
            day=row["day"],
            journey_id=row["journey_id"],
            ai_system_id=row["ai_system_id"],
            gate_calls=row["calls"],
            routed_to_humans=row["routed"],
            blocked=row["blocked"],
        )
        for row in rows
    ]


def recompute_gate_days(first: datetime.date | None, end: datetime.date) -> None:
    """Summarise the days [first, end) afresh (from the first summarised day when `first` is
    None); only days already summarised are touched."""
    with transaction.atomic():
        state, _ = GateRollup.objects.select_for_update().get_or_create(singleton=1)
        if state.complete_until is None:
            return
        if first is None:
            first = GateDay.objects.order_by("day").values_list("day", flat=True).first()
            if first is None:
                return
        end = min(end, state.complete_until)
        if first >= end:
            return
        GateDay.objects.filter(day__gte=first, day__lt=end).delete()
        GateDay.objects.bulk_create(_summaries(first, end))


def roll_up_gate_days(*, now: datetime.datetime | None = None) -> int:
    """Summarise the closed days not summarised yet; returns how many days were added.

    Works in steps of `DAYS_PER_STEP` days, one transaction each, holding the GateRollup row
    so two workers never summarise the same days.
    """
    now = now or timezone.now()
    closed_until = (now - GRACE).astimezone(datetime.UTC).date()  # days before it are closed
    added = 0
    while True:
        with transaction.atomic():
            state, _ = GateRollup.objects.select_for_update().get_or_create(singleton=1)
            first = state.complete_until
            if first is None:
                oldest = GateEvaluation.objects.order_by("created_at").values("created_at")[:1]
                oldest = [row["created_at"] for row in oldest]
                first = oldest[0].astimezone(datetime.UTC).date() if oldest else closed_until
            end = min(closed_until, first + datetime.timedelta(days=DAYS_PER_STEP))
            if first >= end:
                if state.complete_until is None:
                    state.complete_until = first
                    state.save()
                return added
            GateDay.objects.filter(day__gte=first, day__lt=end).delete()
            GateDay.objects.bulk_create(_summaries(first, end))
            state.complete_until = end
            state.save()
            added += (end - first).days


def summarised_until() -> datetime.date | None:
    """Every UTC day before this date is summarised in GateDay (None: none is)."""
    return GateRollup.objects.values_list("complete_until", flat=True).first()
