"""The oversight report's trend: gate calls, routed and blocked calls, live decisions, cases
judged and overrides per day or week of the period, in the project time zone.

Counted with the definitions of `oversight.metrics` (overrides once per case). When every day of
the period starts at a UTC midnight (the zone's offset is 0 at each day's start, as with the
default TIME_ZONE=UTC), a local day is a UTC day and a week of local days a week of UTC days, so
the whole days already summarised come from the daily summaries (GateDay for the gate calls,
DecisionDay for the decisions, split as `oversight.metrics` splits them: days not summarised yet
and days marked stale are counted from the rows) and only the rest is counted row by row. In
any other zone every row is counted, grouped by its local day or week. Either way the figures
are those of counting every row (tests hold both to plain SQL on the raw rows).
"""

import datetime

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from oversight.metrics import BLOCKED, LIVE_OUTCOMES, ROUTED, Period, Scope, utc_midnight
from oversight.metrics.breakdown import _gate_summaries
from oversight.metrics.figures import FIRST_LIVE_DECISION, FIRST_OVERRIDE, _in
from oversight.metrics.summarised import summarised
from oversight.models import AISystem, Decision, GateEvaluation

DAY = datetime.timedelta(days=1)
GATE_COUNTS = ("gate_calls", "routed", "blocked")
DECISION_COUNTS = ("live_decisions", "cases_judged", "overrides")


def bucket_size(period: Period) -> str:
    """Days for periods up to two months, weeks beyond."""
    return "day" if period.end - period.start <= datetime.timedelta(days=62) else "week"


def buckets(period: Period, size: str) -> list[datetime.date]:
    """The first day of every bucket of the period, in the project time zone."""
    first = timezone.localtime(period.start).date()
    last = timezone.localtime(period.end - datetime.timedelta(microseconds=1)).date()
    step = datetime.timedelta(days=1 if size == "day" else 7)
    if size == "week":
        first -= datetime.timedelta(days=first.weekday())
    days = []
    while first <= last:
        days.append(first)
        first += step
    return days


def local_days_are_utc_days(period: Period, tz) -> bool:
    """Whether the zone's offset is 0 at the start of every UTC day the period touches and at
    its end: then its local days, and weeks of them, are UTC days and weeks."""
    day = period.start.astimezone(datetime.UTC).date()
    last = period.end.astimezone(datetime.UTC).date() + DAY
    moments = [period.start, period.end]
    while day <= last:
        moments.append(utc_midnight(day))
        day += DAY
    return all(moment.astimezone(tz).utcoffset() == datetime.timedelta(0) for moment in moments)


def trend(*, ai_system: AISystem, period: Period, size: str) -> dict[datetime.date, dict]:
    """{first day of bucket: counts} for the buckets with data (see the module docstring).
    Two GROUP BY queries over the rows counted live, plus, in a zone whose days are UTC days,
    a few over the summaries and the marks saying how far they reach."""
    trunc = TruncDay if size == "day" else TruncWeek
    tz = timezone.get_current_timezone()
    result: dict = {}

    def bucket_of(value) -> datetime.date:
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value, tz) if timezone.is_aware(value) else value
            value = value.date()
        return value - datetime.timedelta(days=value.weekday()) if size == "week" else value

    def add(rows, names):
        for row in rows:
            counts = result.setdefault(bucket_of(row["bucket"]), {})
            for name in names:
                counts[name] = counts.get(name, 0) + (row[name] or 0)

    gate_calls = GateEvaluation.objects.filter(_in(period, "created_at"), ai_system=ai_system)
    decisions = Decision.objects.filter(
        _in(period, "decided_at"), case__journey__ai_system=ai_system
    )
    if local_days_are_utc_days(period, tz):
        scope = Scope(ai_system=ai_system)
        gate_calls, gate_days = _gate_summaries(gate_calls, period, scope)
        add(
            (
                {
                    "bucket": row["group_day"],
                    "gate_calls": row["gate_calls"],
                    "routed": row["routed_to_humans"],
                    "blocked": row["blocked"],
                }
                for row in gate_days
            ),
            GATE_COUNTS,
        )
        decisions, decision_days = summarised("decision", decisions, period, scope)
        if decision_days is not None:
            add(
                decision_days.filter(judgement_point__isnull=True)
                .values(bucket=F("day"))
                .annotate(**{name: Sum(name) for name in DECISION_COUNTS}),
                DECISION_COUNTS,
            )
    add(
        gate_calls.order_by()
        .values(bucket=trunc("created_at", tzinfo=tz))
        .annotate(
            gate_calls=Count("pk"),
            routed=Count("pk", filter=Q(route__in=ROUTED)),
            blocked=Count("pk", filter=Q(route__in=BLOCKED)),
        ),
        GATE_COUNTS,
    )
    add(
        decisions.order_by()
        .values(bucket=trunc("decided_at", tzinfo=tz))
        .annotate(
            live_decisions=Count("pk", filter=Q(outcome__in=LIVE_OUTCOMES)),
            cases_judged=Count("pk", filter=FIRST_LIVE_DECISION),
            overrides=Count("pk", filter=FIRST_OVERRIDE),
        ),
        DECISION_COUNTS,
    )
    return result


def trend_section(system: AISystem, period: Period) -> dict:
    """Section 8: per bucket (day, week or month) the gate calls, routed share, decisions and
    override rate."""
    size = bucket_size(period)
    days = buckets(period, size)
    counts = trend(ai_system=system, period=period, size=size)
    series = []
    for day in days:
        row = counts.get(day, {})
        calls, routed = row.get("gate_calls", 0), row.get("routed", 0)
        live, overrides = row.get("live_decisions", 0), row.get("overrides", 0)
        judged, blocked = row.get("cases_judged", 0), row.get("blocked", 0)
        series.append(
            {
                "bucket": day.isoformat(),
                "gate_calls": calls,
                "routed": routed,
                "blocked": blocked,
                "routed_share": routed / calls if calls else None,
                "live_decisions": live,
                "cases_judged": judged,
                "overrides": overrides,
                "override_rate": overrides / judged if judged else None,
            }
        )
    return {"bucket": size, "series": series}
