"""The reporting clock of a serious incident (Art. 73(2)–(4)).

The choice, stated once: the deadline is **calendar days ending at the same local time of day**
in the organisation's time zone. Awareness at 23:30 on 24 October 2026 in Europe/Berlin with a
2-day class is due at 23:30 on 26 October, Berlin time, although clocks went back one hour in
between (49 hours of elapsed time, not 48): a person counts days on the calendar and reads the
deadline on the wall clock, as a lawyer counting "two days" would. Should the local time not
exist on the last day (a spring-forward gap), the deadline is the first moment after the gap;
should it exist twice (autumn), the earlier of the two: never later than a person would
read it.

Art. 73 says "not later than", so the deadline is the last permitted moment: a report made
at or before it is in time.
"""

import datetime
import zoneinfo

from django.utils import timezone

from oversight.models.incidents import REPORTING_DAYS, IncidentClass


def reporting_days(incident_class: str) -> int:
    return REPORTING_DAYS[IncidentClass(incident_class)]


def reporting_deadline(
    *, became_aware_at: datetime.datetime, incident_class: str, time_zone: str
) -> datetime.datetime:
    """The last moment to report: awareness plus the class's calendar days, same local time.

    Returns an aware datetime in UTC. Raises ValueError for a naive moment.
    """
    if timezone.is_naive(became_aware_at):
        raise ValueError("The moment of awareness must carry its time zone.")
    zone = zoneinfo.ZoneInfo(time_zone)
    local = became_aware_at.astimezone(zone)
    day = local.date() + datetime.timedelta(days=reporting_days(incident_class))
    wall = datetime.datetime.combine(day, local.time().replace(tzinfo=None, fold=0))
    candidate = wall.replace(tzinfo=zone)  # fold=0: the earlier of two ambiguous moments
    # A wall time inside a spring-forward gap does not round-trip (02:30 comes back as 03:30):
    # take the end of the gap, the first moment that exists (EU clocks change on the hour).
    round_trip = candidate.astimezone(datetime.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != wall:
        candidate = round_trip.replace(minute=0, second=0, microsecond=0)
    return candidate.astimezone(datetime.UTC)


def time_left_words(deadline: datetime.datetime, now: datetime.datetime) -> str:
    """The time to a deadline as a person says it: "3 days 4 h left", "5 h 10 min overdue"."""
    seconds = int((deadline - now).total_seconds())
    suffix = "left" if seconds >= 0 else "overdue"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        parts = [f"{days} day{'s' if days != 1 else ''}"] + ([f"{hours} h"] if hours else [])
    elif hours:
        parts = [f"{hours} h"] + ([f"{minutes} min"] if minutes else [])
    else:
        parts = [f"{minutes} min"]
    return f"{' '.join(parts)} {suffix}"
