"""Moment-exact authority: one rule, judged from the record as it stood at an instant.

The decision service, the effective-authority explanation, the authority register and the
oversight report's "decided without effective authority" list must all agree, whatever
`TIME_ZONE` says (it only changes how moments are displayed).
"""

import datetime
from dataclasses import dataclass

import pytest
import time_machine

from literacy.selectors import literacy_register
from literacy.services.briefings import acknowledge_briefing, publish_briefing
from oversight.exceptions import NotAllowed
from oversight.metrics import Period
from oversight.reports.oversight_authority import decisions_outside_authority
from oversight.reports.registers import build_authority
from oversight.selectors import authority_register
from oversight.services.authority import (
    AuthorityRecord,
    authority_at,
    explain_grants,
    extend_grant,
    judge_decisions,
    revoke_grant,
)
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    BriefingRequirementFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OverrideReasonFactory,
    SuperUserFactory,
    SystemBriefingFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SETUP = datetime.datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
MAY = Period(
    start=datetime.datetime(2026, 5, 1, tzinfo=UTC), end=datetime.datetime(2026, 6, 1, tzinfo=UTC)
)


def moment(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 5, day, hour, minute, tzinfo=UTC)


@dataclass
class Org:
    admin: object
    senior: object
    system: object
    journey: object
    course_version: object
    briefing: object
    rhea: object
    rhea_grant: object
    sam: object
    sam_grant: object
    reason: object


def org() -> Org:
    """At SETUP: Senior reviewers of the assistant need the override course and its briefing.
    Rhea and Sam hold Senior reviewer on refunds, trained, and acknowledged briefing v1."""
    with time_machine.travel(SETUP, tick=False):
        admin = SuperUserFactory(username="admin")
        senior = AuthorityLevelFactory(name="Senior reviewer", rank=2, may_override=True)
        system = AISystemFactory(slug="assistant", name="Support assistant")
        journey = JourneyFactory(ai_system=system, slug="refunds", name="Refunds")
        course = TrainingModuleFactory(slug="override-course", title="Overriding the assistant")
        version = TrainingModuleVersionFactory(
            module=course, published_on=datetime.date(2026, 1, 1), validity_months=12
        )
        TrainingRequirementFactory(module=course, authority_level=senior)
        BriefingRequirementFactory(authority_level=senior, ai_system=system)
        briefing = SystemBriefingFactory(
            ai_system=system, version=1, published_on=SETUP.date(), published_by=admin
        )
        people = {}
        for name in ("rhea", "sam"):
            user = UserFactory(username=name, is_staff=True)
            TrainingCompletionFactory(
                user=user, module_version=version, completed_on=datetime.date(2026, 4, 1)
            )
            acknowledge_briefing(user=user, briefing=briefing)
            grant = AuthorityGrantFactory(
                user=user, level=senior, journey=journey, granted_by=admin, valid_from=SETUP
            )
            people[name] = (user, grant)
        reason = OverrideReasonFactory(code="policy-exception", label="Policy exception")
    return Org(
        admin=admin,
        senior=senior,
        system=system,
        journey=journey,
        course_version=version,
        briefing=briefing,
        rhea=people["rhea"][0],
        rhea_grant=people["rhea"][1],
        sam=people["sam"][0],
        sam_grant=people["sam"][1],
        reason=reason,
    )


def publish_v2(o: Org, at: datetime.datetime):
    with time_machine.travel(at, tick=False):
        return publish_briefing(
            ai_system=o.system,
            published_by=o.admin,
            capabilities="Proposes refunds up to 300 EUR.",
            limitations="Cannot see phone calls.",
            instructions_for_use="Check the order first.",
            stop_procedure="Pause the journey.",
        )


def override_through_the_service(o: Org, user, at: datetime.datetime):
    """Claim a case a few minutes before `at` and override the AI at `at`."""
    with time_machine.travel(at - datetime.timedelta(minutes=4), tick=False):
        case = CaseFactory(journey=o.journey, required_level=o.senior, irreversible=False)
        claim_case(case=case, reviewer=user)
    with time_machine.travel(at, tick=False):
        return decide_case(
            case=case,
            reviewer=user,
            decision=DecisionInput(
                outcome="reject", override_reason=o.reason, rationale="Policy exception applies."
            ),
        )


def flagged_in_may(o: Org) -> list[tuple[str, list[str]]]:
    listed = decisions_outside_authority(ai_system=o.system, period=MAY, limit=50)
    codes = ("not_in_force", "training_missing", "briefing_missing", "other_person")
    return [
        (row.reviewer.get_username(), [code for code in codes if getattr(row, code)])
        for row in listed.rows
    ]


def test_an_override_at_0034_is_not_judged_by_a_briefing_published_at_0900_that_day():
    o = org()
    decision = override_through_the_service(o, o.rhea, moment(20, 0, 34))
    publish_v2(o, moment(20, 9, 0))

    # The decision service accepted it; every reader of the record agrees it was in authority.
    assert decision.is_override and decision.grant_id == o.rhea_grant.pk
    assert authority_at(user=o.rhea, journey=o.journey, at=moment(20, 0, 34)).may_decide
    [status] = explain_grants(o.rhea, at=moment(20, 0, 34))
    assert status.effective
    assert flagged_in_may(o) == []
    row = next(r for r in authority_register(moment(20, 0, 34)) if r.user == o.rhea)
    assert row.training_current

    # From 09:00 the new version is required and Rhea has not acknowledged it.
    later = authority_at(user=o.rhea, journey=o.journey, at=moment(20, 9, 30))
    assert not later.may_decide
    assert [s.text for s in later.shortfalls] == [
        "briefing not acknowledged — version 2 of the Support assistant briefing"
    ]


def test_a_decision_after_the_publication_is_refused_by_the_service_and_flagged_in_the_report():
    o = org()
    publish_v2(o, moment(20, 9, 0))
    with time_machine.travel(moment(20, 9, 30), tick=False):
        case = CaseFactory(journey=o.journey, required_level=o.senior)
        with pytest.raises(NotAllowed) as refusal:
            claim_case(case=case, reviewer=o.rhea)
    assert "You hold no authority to decide cases of this journey" in refusal.value.message
    case.refresh_from_db()
    assert case.claimed_by is None

    # A decision recorded anyway (an import, a bug) is what the report must catch.
    DecisionFactory(
        case=case,
        reviewer=o.rhea,
        grant=o.rhea_grant,
        authority_level=o.senior,
        decided_at=moment(20, 9, 30),
    )
    assert flagged_in_may(o) == [("rhea", ["briefing_missing"])]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_the_verdicts_do_not_depend_on_the_display_time_zone(settings, zone):
    settings.TIME_ZONE = zone
    o = org()
    with time_machine.travel(SETUP, tick=False):
        lee = UserFactory(username="lee", is_staff=True)
        acknowledge_briefing(user=lee, briefing=o.briefing)
        lee_grant = AuthorityGrantFactory(
            user=lee, level=o.senior, journey=o.journey, granted_by=o.admin, valid_from=SETUP
        )
    # 23:30 UTC on the 20th is 01:30 on the 21st in Berlin.
    late_evening = moment(20, 23, 30)
    override_through_the_service(o, o.rhea, late_evening)
    # Lee's training is dated the 21st (a UTC day): it did not count on the evening of the 20th.
    with time_machine.travel(moment(21, 10), tick=False):
        TrainingCompletionFactory(
            user=lee, module_version=o.course_version, completed_on=datetime.date(2026, 5, 21)
        )
    DecisionFactory(
        case=CaseFactory(journey=o.journey, required_level=o.senior),
        reviewer=lee,
        grant=lee_grant,
        authority_level=o.senior,
        decided_at=late_evening,
    )
    # Version 2 of the briefing is published at 06:00 UTC on the 21st (08:00 in Berlin).
    publish_v2(o, moment(21, 6, 0))

    assert flagged_in_may(o) == [("lee", ["training_missing"])]
    lee_then = authority_at(user=lee, journey=o.journey, at=late_evening)
    assert [s.subject for s in lee_then.shortfalls] == ["Overriding the assistant"]
    assert authority_at(user=lee, journey=o.journey, at=moment(21, 0, 30)).may_decide
    assert authority_at(user=o.rhea, journey=o.journey, at=moment(21, 5, 59)).may_decide
    assert not authority_at(user=o.rhea, journey=o.journey, at=moment(21, 6, 0)).may_decide


def test_the_authority_register_counts_grants_whose_briefing_is_not_acknowledged():
    o = org()
    publish_v2(o, moment(20, 9, 0))

    rows = authority_register(moment(20, 23, 59))
    assert [(r.user.get_username(), r.training_current, r.missing_training) for r in rows] == [
        ("rhea", False, ("Briefing on Support assistant v2 (not acknowledged)",)),
        ("sam", False, ("Briefing on Support assistant v2 (not acknowledged)",)),
    ]
    document = build_authority({"as_of": "2026-05-20"})
    assert document.data["figures"]["training_not_current"] == 2
    # The AI-literacy register says the same of the same day.
    literacy = literacy_register(at=moment(20, 23, 59))
    briefing_states = {
        row.user.get_username(): [s.state for s in row.statuses if "Briefing" in s.title]
        for row in literacy.rows
    }
    assert briefing_states == {"rhea": ["missing"], "sam": ["missing"]}

    # The day before, nothing was missing.
    assert build_authority({"as_of": "2026-05-19"}).data["figures"]["training_not_current"] == 0
    with time_machine.travel(moment(21, 8), tick=False):
        acknowledge_briefing(user=o.rhea, briefing=o.briefing.ai_system.briefings.get(version=2))
    assert build_authority({"as_of": "2026-05-21"}).data["figures"]["training_not_current"] == 1


def test_a_grant_changed_after_the_moment_is_judged_as_it_stood_then():
    o = org()
    with time_machine.travel(moment(2, 8), tick=False):
        o.sam_grant.valid_until = moment(25, 0)
        o.sam_grant._change_reason = "given an end"
        o.sam_grant.save()
    decided = moment(10, 12)
    DecisionFactory(
        case=CaseFactory(journey=o.journey, required_level=o.senior),
        reviewer=o.sam,
        grant=o.sam_grant,
        authority_level=o.senior,
        decided_at=decided,
    )
    # Later the administrator extends Sam's grant, then revokes it.
    with time_machine.travel(moment(15, 8), tick=False):
        extend_grant(
            granter=o.admin,
            grant=o.sam_grant,
            valid_until=moment(31, 0),
            justification="Covers the end of the month.",
        )
    with time_machine.travel(moment(18, 8), tick=False):
        revoke_grant(revoker=o.admin, grant=o.sam_grant, reason="Moved to another team.")

    record = AuthorityRecord.load(user_ids=[o.sam.pk])
    then = record.judge(user_id=o.sam.pk, journey=o.journey, at=decided)
    assert then.may_decide
    assert then.grant.version.valid_until == moment(25, 0)
    assert then.grant.version.revoked_at is None
    assert judge_decisions([("d", o.sam.pk, o.sam_grant.pk, decided, o.journey)]) == {}
    assert flagged_in_may(o) == []

    after = record.judge(user_id=o.sam.pk, journey=o.journey, at=moment(18, 9))
    assert not after.may_decide
    assert any(s.text.startswith("revoked 2026-05-18 08:00 by admin") for s in after.shortfalls)


def test_a_grant_recorded_after_the_moment_was_not_on_record_then():
    o = org()
    with time_machine.travel(moment(12, 8), tick=False):
        backdated = AuthorityGrantFactory(
            user=UserFactory(username="lee"),
            level=o.senior,
            journey=o.journey,
            valid_from=moment(2, 0),
        )
    record = AuthorityRecord.load(user_ids=[backdated.user_id])
    judgement = record.judge_grant(backdated.pk, moment(10, 0))
    assert [s.code for s in judgement.shortfalls] == ["not_in_force"]
    assert judgement.shortfalls[0].text == "not on record at 2026-05-10 00:00"


def test_a_correction_of_the_level_does_not_rewrite_the_past():
    o = org()
    lower = AuthorityLevelFactory(name="Reviewer", rank=1)
    with time_machine.travel(moment(12, 8), tick=False):
        o.sam_grant.level = lower
        o.sam_grant._change_reason = "corrected: granted at the wrong level"
        o.sam_grant.save()
    before = authority_at(user=o.sam, journey=o.journey, at=moment(11, 0))
    after = authority_at(user=o.sam, journey=o.journey, at=moment(13, 0))
    assert before.grant.level.name == "Senior reviewer"
    assert after.grant.level.name == "Reviewer"


def test_the_report_judges_many_decisions_in_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    o = org()
    for n in range(30):
        DecisionFactory(
            case=CaseFactory(journey=o.journey, required_level=o.senior),
            reviewer=o.rhea if n % 2 else o.sam,
            grant=o.rhea_grant if n % 2 else o.sam_grant,
            authority_level=o.senior,
            decided_at=moment(3 + n // 2, 10),
        )
    publish_v2(o, moment(10, 9))
    # Journeys, the grouped decisions, the record (at most nine), the first flagged decisions,
    # the rows shown: 12 on SQLite and PostgreSQL (it was 14 on PostgreSQL when every decision
    # was streamed in chunks), whatever the number of decisions and of days they span.
    with django_assert_max_num_queries(12):
        listed = decisions_outside_authority(ai_system=o.system, period=MAY, limit=5)
    assert listed.total == 16  # from the 10th at 10:00 on: days 10 to 17, two a day
    assert len(listed.rows) == 5
