"""The authority register: who held which level on which scope at a past moment, granted by
whom, and whether their training was current, rebuilt from the grants' history."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oversight.demo import seed_demo
from oversight.selectors import authority_register
from oversight.services.authority import extend_grant, grant_authority, revoke_grant
from tests.oversight.authority_world import DAY, NOW, world

pytestmark = pytest.mark.django_db

# The story: the manager (Senior reviewer on the assistant since NOW - 30 days) grants Rhea
# Reviewer on refunds until day 30, grants Sam Senior reviewer on the whole assistant on day 5,
# extends Rhea's grant to day 60 on day 10, revokes Sam's on day 15. Rhea's course expires on
# 2027-03-01; she is not retrained.
T0 = NOW
SAM_GRANTED = T0 + 5 * DAY
EXTENDED = T0 + 10 * DAY
REVOKED = T0 + 15 * DAY
LAPSED = datetime.datetime(2027, 3, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def story():
    with time_machine.travel(T0, tick=False) as clock:
        w = world()
        rhea_grant = grant_authority(
            granter=w.manager,
            user=w.rhea,
            level=w.reviewer,
            journey=w.refunds,
            valid_until=T0 + 30 * DAY,
            justification="Refunds queue.",
        )
        clock.move_to(SAM_GRANTED)
        sam_grant = grant_authority(
            granter=w.manager,
            user=w.sam,
            level=w.senior,
            ai_system=w.assistant,
            justification="Senior agent for the assistant.",
        )
        clock.move_to(EXTENDED)
        extend_grant(
            granter=w.manager,
            grant=rhea_grant,
            valid_until=datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC),
            justification="Refunds queue for another year.",
        )
        clock.move_to(REVOKED)
        revoke_grant(revoker=w.manager, grant=sam_grant, reason="Moved to sales.")
        clock.move_to(LAPSED + 30 * DAY)  # the register is asked long after all of it
        yield w


def rows_at(moment):
    return [
        (
            row.user.username,
            row.level.name,
            row.scope,
            row.granted_by.username,
            row.valid_until,
            row.training_current,
            row.missing_training,
        )
        for row in authority_register(moment)
    ]


MANAGER_ROW = (
    "mark",
    "Senior reviewer",
    "Support assistant (every journey)",
    "admin",
    None,
    True,
    (),
)


def test_before_the_story_was_recorded_the_register_is_empty(story):
    # The manager's grant says it started 30 days before T0, but it was recorded at T0: the
    # register shows what the record said at the time, and then there was nothing.
    assert rows_at(T0 - DAY) == []


def test_after_the_first_grant_it_shows_with_its_end_as_it_was_then(story):
    assert rows_at(T0 + DAY) == [
        MANAGER_ROW,
        ("rhea", "Reviewer", "Support assistant / Refunds", "mark", T0 + 30 * DAY, True, ()),
    ]


def test_between_sams_grant_and_the_extension_both_show_as_they_stood(story):
    assert rows_at(SAM_GRANTED + DAY) == [
        MANAGER_ROW,
        ("sam", "Senior reviewer", "Support assistant (every journey)", "mark", None, True, ()),
        ("rhea", "Reviewer", "Support assistant / Refunds", "mark", T0 + 30 * DAY, True, ()),
    ]


def test_after_the_extension_the_new_end_shows_and_the_revoked_grant_still_held(story):
    assert rows_at(EXTENDED + DAY) == [
        MANAGER_ROW,
        ("sam", "Senior reviewer", "Support assistant (every journey)", "mark", None, True, ()),
        (
            "rhea",
            "Reviewer",
            "Support assistant / Refunds",
            "mark",
            datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC),
            True,
            (),
        ),
    ]


def test_after_the_revocation_the_revoked_grant_is_gone(story):
    extended_end = datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC)

    assert rows_at(REVOKED + DAY) == [
        MANAGER_ROW,
        ("rhea", "Reviewer", "Support assistant / Refunds", "mark", extended_end, True, ()),
    ]
    # Past the first end (day 30), the extension holds.
    assert len(rows_at(T0 + 45 * DAY)) == 2


def test_after_the_training_lapsed_the_grant_shows_without_current_training(story):
    missing = ("Overriding the assistant",)
    extended_end = datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC)

    assert rows_at(LAPSED) == [
        ("mark", *MANAGER_ROW[1:5], False, missing),
        ("rhea", "Reviewer", "Support assistant / Refunds", "mark", extended_end, False, missing),
    ]


def test_a_moment_is_exact_to_the_second(story):
    just_before, at_revocation = REVOKED - datetime.timedelta(seconds=1), REVOKED

    assert "sam" in [row[0] for row in rows_at(just_before)]
    assert "sam" not in [row[0] for row in rows_at(at_revocation)]


def test_the_register_costs_the_same_queries_however_many_rows(story):
    with CaptureQueriesContext(connection) as two:
        two_rows = authority_register(T0 + DAY)
    with CaptureQueriesContext(connection) as three:
        three_rows = authority_register(SAM_GRANTED + DAY)
    with CaptureQueriesContext(connection) as lapsed:
        authority_register(LAPSED)

    assert (len(two_rows), len(three_rows)) == (2, 3)
    # The grants' history, then the authority record (grant history, holders, requirement
    # history with module titles, re-qualifying versions, completions, briefing requirement
    # history): the same whether training is current or lapsed.
    assert len(two) == len(three) == len(lapsed) == 7


def test_the_demo_register_shows_the_story_on_a_past_day():
    seed_demo()

    rows = authority_register(timezone.now() - datetime.timedelta(days=50))

    held = {(row.user.username, row.level.name, row.scope, row.granted_by.username) for row in rows}
    assert ("manager", "Team lead", "Support assistant (every journey)", "admin") in held
    assert ("lead", "Team lead", "Support assistant (every journey)", "manager") in held
    # The fraud specialist's grant began 30 days ago: not yet held 50 days ago.
    assert not any(row.journey and row.journey.slug == "identity-verification" for row in rows)
    assert all(row.training_current for row in rows)
