"""The report's decisions without effective authority, judged by groups, equal judging every
decision one by one (the reference), with every input of the rule changing inside a day.

Groups are (reviewer, grant, journey, UTC day); each event below happens between two decisions
of one group, so a group judged whole where it should not be would be counted wrongly.
"""

import datetime
import itertools

import pytest
import time_machine

from literacy.services.briefings import acknowledge_briefing
from oversight.reports.oversight_authority import (
    decisions_outside_authority,
    decisions_outside_authority_one_by_one,
)
from oversight.services.authority import DECISION_SHORTFALLS, revoke_grant
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)
from tests.oversight.test_authority_moment import MAY, SETUP, moment, org, publish_v2

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 5, 25, 12, 0, tzinfo=UTC)
HOURS = (1, 5, 9, 11, 13, 17, 21)  # decisions of each group each day, around the events at noon


class Decisions:
    def __init__(self, o):
        self.cases = {}
        self.rounds = itertools.count(1)
        self.o = o

    def add(self, reviewer, grant, at, journey=None):
        journey = journey or self.o.journey
        if journey.pk not in self.cases:
            self.cases[journey.pk] = CaseFactory(journey=journey, required_level=self.o.senior)
        DecisionFactory(
            case=self.cases[journey.pk],
            review_round=next(self.rounds),
            reviewer=reviewer,
            grant=grant,
            authority_level=self.o.senior,
            decided_at=at,
        )

    def day(self, day, reviewer, grant, journey=None):
        for hour in HOURS:
            self.add(reviewer, grant, moment(day, hour, 30), journey)


def listed(answer):
    return answer.total, [
        (row.pk, tuple(code for code in DECISION_SHORTFALLS if getattr(row, code)))
        for row in answer.rows
    ]


def assert_same_as_one_by_one(o, limits=(0, 1, 5, 13, 40, 1000)):
    for limit in limits:
        grouped = decisions_outside_authority(ai_system=o.system, period=MAY, limit=limit)
        reference = decisions_outside_authority_one_by_one(
            ai_system=o.system, period=MAY, limit=limit
        )
        assert listed(grouped) == listed(reference), limit


def test_grouped_judgements_equal_judging_every_decision_with_changes_inside_days():
    o = org()
    d = Decisions(o)
    other_journey = JourneyFactory(ai_system=o.system, slug="returns", name="Returns")
    with time_machine.travel(SETUP, tick=False):
        tia = UserFactory(username="tia", is_staff=True)
        TrainingCompletionFactory(
            user=tia,
            module_version=o.course_version,
            completed_on=datetime.date(2026, 4, 1),
            expires_on=datetime.date(2026, 5, 13),  # expired from the 13th (day boundary)
        )
        acknowledge_briefing(user=tia, briefing=o.briefing)
    # Day 3: Rhea's grant revoked at noon.
    d.day(3, o.rhea, o.rhea_grant)
    with time_machine.travel(moment(3, 12), tick=False):
        revoke_grant(revoker=o.admin, grant=o.rhea_grant, reason="Moved to another team.")
    d.day(4, o.rhea, o.rhea_grant)
    # Day 5: Tia's grant, recorded the day before, in force from 14:00.
    with time_machine.travel(moment(4, 10), tick=False):
        tia_grant = AuthorityGrantFactory(
            user=tia,
            level=o.senior,
            journey=o.journey,
            granted_by=o.admin,
            valid_from=moment(5, 14),
        )
    d.day(5, tia, tia_grant)
    # Day 6: Sam's grant moved to another journey at noon (a history row), then a lower level
    # that may not decide on day 7.
    d.day(6, o.sam, o.sam_grant)
    with time_machine.travel(moment(6, 12), tick=False):
        o.sam_grant.journey = other_journey
        o.sam_grant.save()
    d.day(7, o.sam, o.sam_grant)
    d.day(7, o.sam, o.sam_grant, journey=other_journey)
    with time_machine.travel(moment(7, 12), tick=False):
        o.sam_grant.level = AuthorityLevelFactory(name="Observer", rank=0, may_decide=False)
        o.sam_grant.save()
    # Day 8: decisions without a grant, and under another person's grant.
    d.day(8, o.rhea, None)
    d.day(8, tia, o.sam_grant, journey=other_journey)
    # Day 11: briefing v2 published at 09:00; Tia acknowledges it on the 12th at noon.
    d.day(11, tia, tia_grant)
    v2 = publish_v2(o, moment(11, 9))
    d.day(12, tia, tia_grant)
    with time_machine.travel(moment(12, 12), tick=False):
        acknowledge_briefing(user=tia, briefing=v2)
    # Days 12 and 13: Tia's training expires at the start of the 13th.
    d.day(13, tia, tia_grant)
    # Day 14: a new module required of the level from noon, which Tia has not taken; she
    # renewed the first course on the 14th.
    with time_machine.travel(SETUP, tick=False):
        course = TrainingModuleFactory(slug="second-course", title="Second course")
        TrainingModuleVersionFactory(
            module=course, published_on=datetime.date(2026, 1, 1), validity_months=12
        )
        TrainingCompletionFactory(
            user=tia, module_version=o.course_version, completed_on=datetime.date(2026, 5, 14)
        )
    with time_machine.travel(moment(14, 12), tick=False):
        TrainingRequirementFactory(module=course, authority_level=o.senior)
    d.day(14, tia, tia_grant)
    d.day(14, o.rhea, o.sam_grant, journey=other_journey)
    # Days 15 and 16: Tia's grant given, the evening before, an end at noon on the 15th and a
    # revocation at noon on the 16th (both recorded ahead of their instant).
    with time_machine.travel(moment(14, 23), tick=False):
        tia_grant.valid_until = moment(15, 12)
        tia_grant.save()
    with time_machine.travel(moment(15, 23), tick=False):
        tia_grant.valid_until = None
        tia_grant.revoked_at = moment(16, 12)
        tia_grant.revoked_by = o.admin
        tia_grant.revocation_reason = "Leaves the team at noon."
        tia_grant.save()
    d.day(15, tia, tia_grant)
    d.day(16, tia, tia_grant)

    assert_same_as_one_by_one(o)
    total, rows = listed(decisions_outside_authority(ai_system=o.system, period=MAY, limit=1000))
    # Judged whole where nothing changes, split where something does: each event shows.
    assert 0 < total < 7 * 16
    assert len({codes for _, codes in rows}) >= 5


def test_grouped_judgements_equal_judging_every_decision_near_now():
    """Within `LIVE_WINDOW` of now an inactive holder's account also counts (not a decision
    shortfall, so the verdict must not change there) and decisions at the same instant."""
    o = org()
    d = Decisions(o)
    o.sam.is_active = False
    o.sam.save()
    for offset in (-150, -90, -60, -30, 0, 0, 30, 60, 90):
        d.add(o.sam, o.sam_grant, NOW + datetime.timedelta(seconds=offset))
        d.add(o.rhea, o.sam_grant, NOW + datetime.timedelta(seconds=offset))
    with time_machine.travel(NOW, tick=False):
        assert_same_as_one_by_one(o)
        assert listed(decisions_outside_authority(ai_system=o.system, period=MAY, limit=0))[0] == 9


def test_queries_do_not_grow_with_decisions_or_flagged_days(django_assert_max_num_queries):
    o = org()
    d = Decisions(o)
    for day in range(3, 10):
        d.day(day, o.rhea, None)
        d.day(day, o.sam, o.rhea_grant)
    with django_assert_max_num_queries(12):
        answer = decisions_outside_authority(ai_system=o.system, period=MAY, limit=50)
    assert answer.total == 7 * 14
    assert len(answer.rows) == 50
