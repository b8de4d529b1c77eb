"""The reporting clock: calendar days ending at the same local time, across zones and DST.

The rule (oversight/services/incidents/deadlines.py): the deadline is the class's number of
calendar days after awareness, at the same wall-clock time in the organisation's zone. So a
deadline that spans a clock change is an hour more or less than 24 h × days of elapsed time.
"""

import datetime
import zoneinfo

import pytest
import time_machine

from oversight.models import IncidentClass
from oversight.services.incidents.deadlines import reporting_deadline, time_left_words
from tests.oversight.incidents.world import incident_world, raise_one

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC


def at(year, month, day, hour, minute, zone):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("aware", "incident_class", "zone", "expected_local", "elapsed_hours"),
    [
        # Autumn: Berlin's clocks go back on 25 October 2026; two days are 49 hours.
        (at(2026, 10, 24, 23, 30, BERLIN), "widespread", "Europe/Berlin",
         at(2026, 10, 26, 23, 30, BERLIN), 49),
        # Spring: clocks go forward on 28 March 2027; ten days are 239 hours.
        (at(2027, 3, 20, 9, 0, BERLIN), "death", "Europe/Berlin",
         at(2027, 3, 30, 9, 0, BERLIN), 239),
        # No change in between: exactly 15 × 24 hours.
        (at(2026, 6, 1, 12, 0, BERLIN), "other", "Europe/Berlin",
         at(2026, 6, 16, 12, 0, BERLIN), 360),
        # New York changes on another date (1 November 2026).
        (at(2026, 10, 31, 8, 0, NEW_YORK), "widespread", "America/New_York",
         at(2026, 11, 2, 8, 0, NEW_YORK), 49),
        # The same Berlin moment counted in New York's calendar: 17:30 there, the day before.
        (at(2026, 10, 24, 23, 30, BERLIN), "widespread", "America/New_York",
         at(2026, 10, 26, 17, 30, NEW_YORK), 48),
    ],
)  # fmt: skip
def test_deadline_is_calendar_days_at_the_same_local_time(
    aware, incident_class, zone, expected_local, elapsed_hours
):
    deadline = reporting_deadline(
        became_aware_at=aware.astimezone(UTC), incident_class=incident_class, time_zone=zone
    )

    assert deadline == expected_local
    assert deadline.tzinfo == UTC
    assert deadline.astimezone(zoneinfo.ZoneInfo(zone)).time() == expected_local.time()
    assert (deadline - aware) == datetime.timedelta(hours=elapsed_hours)


def test_a_deadline_inside_the_spring_gap_falls_at_the_end_of_the_gap():
    # 02:30 on 28 March 2027 does not exist in Berlin: the deadline is 03:00 CEST.
    deadline = reporting_deadline(
        became_aware_at=at(2027, 3, 26, 2, 30, BERLIN),
        incident_class=IncidentClass.WIDESPREAD,
        time_zone="Europe/Berlin",
    )

    assert deadline == at(2027, 3, 28, 1, 0, UTC)
    assert deadline.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_a_deadline_at_a_repeated_hour_takes_the_earlier_of_the_two():
    # 02:30 on 25 October 2026 happens twice in Berlin: first CEST (00:30 UTC), then CET.
    deadline = reporting_deadline(
        became_aware_at=at(2026, 10, 23, 2, 30, BERLIN),
        incident_class=IncidentClass.WIDESPREAD,
        time_zone="Europe/Berlin",
    )

    assert deadline == at(2026, 10, 25, 0, 30, UTC)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        reporting_deadline(
            became_aware_at=datetime.datetime(2026, 10, 24, 23, 30),
            incident_class="other",
            time_zone="Europe/Berlin",
        )


@pytest.mark.django_db
def test_raising_in_berlin_across_the_autumn_change_stores_the_local_deadline(settings):
    aware = at(2026, 10, 24, 23, 30, BERLIN)
    with time_machine.travel(aware + datetime.timedelta(minutes=5), tick=False):
        w = incident_world()
        incident = raise_one(
            w,
            incident_class=IncidentClass.WIDESPREAD,
            became_aware_at=aware,
            time_zone="Europe/Berlin",
        )

    assert incident.deadline.astimezone(BERLIN) == at(2026, 10, 26, 23, 30, BERLIN)
    assert incident.deadline.astimezone(BERLIN).tzname() == "CET"


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (datetime.timedelta(days=3, hours=4, minutes=10), "3 days 4 h left"),
        (datetime.timedelta(days=1), "1 day left"),
        (datetime.timedelta(hours=1, minutes=8), "1 h 8 min left"),
        (datetime.timedelta(minutes=9), "9 min left"),
        (-datetime.timedelta(hours=5, minutes=10), "5 h 10 min overdue"),
        (-datetime.timedelta(days=2, hours=1), "2 days 1 h overdue"),
    ],
)
def test_time_left_in_words(delta, words):
    now = at(2026, 9, 1, 12, 0, UTC)

    assert time_left_words(now + delta, now) == words
