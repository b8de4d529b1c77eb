"""Claims follow authority: ending authority releases claims; a higher level may take a case over.

A claim must not outlive the authority behind it (a revoked reviewer's claim used to strand the
case until the lease ran out), and a team lead must be able to step in on a claimed case, saying
why, on the record.
"""

import datetime

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import AuthorityGrant, Case, CaseStatus
from oversight.services.authority import reconcile_authority, revoke_grant
from oversight.services.cases import claim_case, take_over_claim
from tests.factories import AuthorityGrantFactory, SuperUserFactory
from tests.oversight.reviewing.conftest import person
from tests.oversight.reviewing.workspace import log_in, review_url, shows, snapshot

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def latest_history(case):
    return Case.history.filter(id=case.id).order_by("-history_date", "-history_id").first()


def test_revoking_a_grant_releases_the_holders_claim_at_once(case, reviewer, lead):
    admin = SuperUserFactory(username="admin")
    claim_case(case=case, reviewer=reviewer)
    grant = AuthorityGrant.objects.get(user=reviewer)

    revoke_grant(revoker=admin, grant=grant, reason="Moved to the billing team.")

    case.refresh_from_db()
    assert (case.status, case.claimed_by, case.claim_expires_at) == (CaseStatus.OPEN, None, None)
    row = latest_history(case)
    assert row.history_user == admin
    assert row.history_change_reason == (
        "claim released: authority revoked by admin: Moved to the billing team."
    )
    [event] = events("case.claim_released")
    assert event.object_id == str(case.pk)
    assert event.payload["holder"] == "rhea"
    assert event.actor_user == admin
    # Nobody waits for the lease: a team lead claims it straight away.
    claim_case(case=case, reviewer=lead)


def test_a_claim_another_grant_still_covers_is_kept(case, reviewer, journey, levels):
    admin = SuperUserFactory(username="admin")
    AuthorityGrantFactory(
        user=reviewer,
        level=levels["reviewer"],
        journey=None,
        ai_system=journey.ai_system,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    claim_case(case=case, reviewer=reviewer)

    revoke_grant(
        revoker=admin,
        grant=AuthorityGrant.objects.get(user=reviewer, journey=journey),
        reason="Covered by the system-wide grant.",
    )

    case.refresh_from_db()
    assert case.claimed_by == reviewer
    assert events("case.claim_released") == []


def test_a_grant_expiring_releases_the_claim_when_reconciled(case, levels, journey):
    ending = person("eve", levels["reviewer"], journey)
    grant = AuthorityGrant.objects.get(user=ending)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        grant.valid_until = start + datetime.timedelta(minutes=10)
        grant.save()
        claim_case(case=case, reviewer=ending)
    with time_machine.travel(start + datetime.timedelta(minutes=15), tick=False):
        report = reconcile_authority()

    case.refresh_from_db()
    assert case.claimed_by is None and case.status == CaseStatus.OPEN
    assert report.released == [str(case)]
    [event] = events("case.claim_released")
    assert event.payload["holder"] == "eve"
    assert latest_history(case).history_change_reason.startswith("claim released: authority ended")
    # Running again releases nothing more.
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        assert reconcile_authority().released == []


def test_taking_over_without_a_reason_is_refused_and_nothing_changes(case, reviewer, lead):
    claim_case(case=case, reviewer=reviewer)
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refusal:
        take_over_claim(case=case, user=lead, reason="   ")

    assert refusal.value.message == "Say why you take over this case: a reason is needed."
    assert snapshot(case) == before


def test_taking_over_without_a_higher_level_is_refused_and_nothing_changes(
    case, reviewer, levels, journey
):
    peer = person("pat", levels["reviewer"], journey)
    claim_case(case=case, reviewer=reviewer)
    before = snapshot(case)

    with pytest.raises(NotAllowed) as refusal:
        take_over_claim(case=case, user=peer, reason="I have time now.")

    assert refusal.value.message == (
        "rhea holds Reviewer on this journey; taking over needs a higher level than that, and "
        "you hold Reviewer."
    )
    assert snapshot(case) == before


def test_taking_over_without_authority_on_the_case_is_refused_and_nothing_changes(
    case, reviewer, levels
):
    from tests.factories import JourneyFactory

    elsewhere = person("olga", levels["lead"], JourneyFactory(slug="billing"))
    claim_case(case=case, reviewer=reviewer)
    before = snapshot(case)

    with pytest.raises(NotAllowed) as refusal:
        take_over_claim(case=case, user=elsewhere, reason="Urgent.")

    assert "You hold no authority to decide cases of this journey" in refusal.value.message
    assert snapshot(case) == before


def test_a_team_lead_takes_over_a_claimed_case_with_a_reason_on_the_record(case, reviewer, lead):
    claim_case(case=case, reviewer=reviewer)

    taken = take_over_claim(case=case, user=lead, reason="Rhea is off sick; the SLA ends soon.")

    case.refresh_from_db()
    assert case.claimed_by == lead and case.status == CaseStatus.CLAIMED
    assert case.claim_expires_at == taken.claim_expires_at
    row = latest_history(case)
    assert row.history_user == lead
    assert row.history_change_reason == (
        "claim taken over from rhea: Rhea is off sick; the SLA ends soon."
    )
    [event] = events("case.claim_taken_over")
    assert event.payload["from"] == "rhea"
    assert event.payload["from_level"] == "Reviewer"
    assert event.payload["level"] == "Team lead"
    assert event.payload["reason"] == "Rhea is off sick; the SLA ends soon."


def test_taking_over_a_case_nobody_holds_is_refused(case, lead):
    before = snapshot(case)
    with pytest.raises(InvalidInput) as refusal:
        take_over_claim(case=case, user=lead, reason="Urgent.")
    assert refusal.value.message == "Nobody holds a live claim on this case: claim it instead."
    assert snapshot(case) == before


def test_the_review_screen_offers_and_performs_the_take_over(client, case, reviewer, lead):
    claim_case(case=case, reviewer=reviewer)
    log_in(client, lead)

    page = client.get(review_url(case))
    assert 'id="take-over"' in page.content.decode()

    before = snapshot(case)
    refused = client.post(review_url(case, "take_over"), {"reason": ""}, follow=True)
    assert shows(refused, "Say why you take over this case: a reason is needed.")
    assert snapshot(case) == before

    done = client.post(review_url(case, "take_over"), {"reason": "SLA ends in ten minutes."})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.claimed_by == lead
    assert latest_history(case).history_change_reason == (
        "claim taken over from rhea: SLA ends in ten minutes."
    )


def test_the_take_over_url_answers_403_outside_authority(client, case, reviewer, levels):
    from tests.factories import JourneyFactory

    outsider = person("olga", levels["lead"], JourneyFactory(slug="billing"))
    claim_case(case=case, reviewer=reviewer)
    log_in(client, outsider)
    before = snapshot(case)

    response = client.post(review_url(case, "take_over"), {"reason": "Urgent."})

    assert response.status_code == 403
    assert snapshot(case) == before


def test_a_new_briefing_to_acknowledge_releases_the_claims_it_suspends(case, reviewer, levels):
    from literacy.services.briefings import publish_briefing
    from tests.factories import BriefingRequirementFactory

    BriefingRequirementFactory(authority_level=levels["reviewer"], ai_system=case.journey.ai_system)
    claim_case(case=case, reviewer=reviewer)

    publish_briefing(
        ai_system=case.journey.ai_system,
        published_by=SuperUserFactory(username="admin"),
        capabilities="Proposes refunds.",
        limitations="Cannot see phone calls.",
        instructions_for_use="Check the order first.",
        stop_procedure="Pause the journey.",
    )

    case.refresh_from_db()
    assert case.claimed_by is None and case.status == CaseStatus.OPEN
    [event] = events("case.claim_released")
    assert event.payload["holder"] == "rhea"
    assert event.payload["shortfalls"] == [
        f"briefing not acknowledged — version 1 of the {case.journey.ai_system} briefing"
    ]
