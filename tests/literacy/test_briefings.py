"""System briefings: versioned, acknowledged per version, required by authority levels."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from literacy.models import BriefingAcknowledgement, SystemBriefing
from literacy.services.briefings import acknowledge_briefing, publish_briefing
from literacy.services.status import (
    CURRENT,
    MISSING,
    BriefingStatus,
    training_status,
    training_status_by_user,
)
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.roles import REVIEWER, TRAINER
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    BriefingRequirementFactory,
    StaffUserFactory,
    SystemBriefingFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TEXTS = {
    "capabilities": "Proposes refunds.",
    "limitations": "Misreads sarcasm.",
    "instructions_for_use": "Check the order first.",
    "stop_procedure": "Pause the journey.",
}


@pytest.fixture(autouse=True)
def today_is_1_june_2026():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def trainer():
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=TRAINER))
    return user


@pytest.fixture
def reviewer():
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=REVIEWER))
    return user


def counts():
    return (
        SystemBriefing.objects.count(),
        BriefingAcknowledgement.objects.count(),
        SystemBriefing.history.count() + BriefingAcknowledgement.history.count(),
        AuditEvent.objects.count(),
    )


def test_publishing_numbers_versions_and_is_audited(trainer):
    system = AISystemFactory()

    first = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    second = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)

    assert (first.version, second.version) == (1, 2)
    assert second.published_on == datetime.date(2026, 6, 1)
    assert second.history.get().history_user == trainer
    events = AuditEvent.objects.filter(action="briefing.published").order_by("sequence")
    assert [e.payload["version"] for e in events] == [1, 2]
    assert events[0].payload["stop_procedure"] == "Pause the journey."


def test_publishing_without_permission_or_texts_is_refused_and_nothing_changes(trainer):
    system = AISystemFactory()
    before = counts()
    with pytest.raises(NotAllowed, match="You may not publish system briefings."):
        publish_briefing(ai_system=system, published_by=UserFactory(), **TEXTS)
    with pytest.raises(InvalidInput, match="A briefing must say its limitations, how to stop it."):
        publish_briefing(
            ai_system=system,
            published_by=trainer,
            **{**TEXTS, "limitations": " ", "stop_procedure": ""},
        )
    assert counts() == before


def test_acknowledging_records_the_version_once(trainer, reviewer):
    briefing = publish_briefing(ai_system=AISystemFactory(), published_by=trainer, **TEXTS)

    acknowledgement = acknowledge_briefing(user=reviewer, briefing=briefing)

    assert acknowledgement.briefing.version == 1
    assert acknowledgement.acknowledged_at == datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
    assert acknowledgement.history.get().history_user == reviewer
    event = AuditEvent.objects.get(action="briefing.acknowledged")
    assert (event.actor_user, event.payload["version"]) == (reviewer, 1)
    before = counts()
    with pytest.raises(InvalidInput, match=f"You already acknowledged {briefing}."):
        acknowledge_briefing(user=reviewer, briefing=briefing)
    assert counts() == before


def test_an_old_version_cannot_be_acknowledged(trainer, reviewer):
    system = AISystemFactory()
    old = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    before = counts()

    with pytest.raises(StaleState) as refused:
        acknowledge_briefing(user=reviewer, briefing=old)

    assert refused.value.message == (
        f"Briefing on {system} v1 has been replaced by version 2: acknowledge that one."
    )
    assert counts() == before


def test_an_inactive_account_cannot_acknowledge(trainer):
    briefing = publish_briefing(ai_system=AISystemFactory(), published_by=trainer, **TEXTS)
    before = counts()
    with pytest.raises(NotAllowed, match="An inactive account cannot acknowledge briefings."):
        acknowledge_briefing(user=UserFactory(is_active=False), briefing=briefing)
    assert counts() == before


def test_training_status_reports_required_briefings_and_a_new_version_asks_again(trainer):
    level = AuthorityLevelFactory()
    system = AISystemFactory(name="Refund bot")
    BriefingRequirementFactory(authority_level=level, ai_system=system)
    user = UserFactory()
    AuthorityGrantFactory(user=user, level=level, sync_permissions=False)
    # No briefing published yet: nothing to acknowledge.
    assert training_status(user) == []
    briefing = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)

    [status] = training_status(user)
    assert isinstance(status, BriefingStatus)
    assert (status.title, status.state, status.briefing) == (
        "Briefing on Refund bot",
        MISSING,
        briefing,
    )
    acknowledgement = acknowledge_briefing(user=user, briefing=briefing)
    [status] = training_status(user)
    assert (status.state, status.acknowledgement, status.is_current) == (
        CURRENT,
        acknowledgement,
        True,
    )

    publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    [status] = training_status(user)
    assert (status.state, status.acknowledgement) == (MISSING, None)
    assert status.detail == "version 1 acknowledged; version 2 needs acknowledging"


def test_briefings_come_after_modules_in_a_fixed_number_of_queries():
    level = AuthorityLevelFactory()
    people = [UserFactory() for _ in range(5)]
    for user in people:
        AuthorityGrantFactory(user=user, level=level, sync_permissions=False)
    for _ in range(3):
        version = TrainingModuleVersionFactory()
        TrainingRequirementFactory(module=version.module, authority_level=level)
        briefing = SystemBriefingFactory()
        BriefingRequirementFactory(authority_level=level, ai_system=briefing.ai_system)

    with CaptureQueriesContext(connection) as queries:
        result = training_status_by_user([user.pk for user in people])

    assert len(queries) == 9
    kinds = [type(status).__name__ for status in result[people[0].pk]]
    assert kinds == ["ModuleStatus"] * 3 + ["BriefingStatus"] * 3


def test_admin_publishes_through_the_service(client, trainer):
    client.force_login(trainer)
    system = AISystemFactory()

    response = client.post(
        reverse("admin:literacy_systembriefing_add"), {"ai_system": system.pk, **TEXTS}
    )

    assert response.status_code == 302
    briefing = SystemBriefing.objects.get()
    assert (briefing.version, briefing.published_by) == (1, trainer)
    assert AuditEvent.objects.filter(action="briefing.published").count() == 1


def test_admin_acknowledge_action_records_and_refuses_with_messages(client, trainer, reviewer):
    system = AISystemFactory()
    old = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    new = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    client.force_login(reviewer)
    url = reverse("admin:literacy_systembriefing_changelist")

    response = client.post(
        url,
        {"action": "acknowledge", "_selected_action": [str(old.pk), str(new.pk)]},
        follow=True,
    )

    # Newest version first, as the list shows them.
    assert [str(m) for m in response.context["messages"]] == [
        f"You acknowledged {new}.",
        f"{old} has been replaced by version 2: acknowledge that one.",
    ]
    assert list(BriefingAcknowledgement.objects.values_list("user", "briefing")) == [
        (reviewer.pk, new.pk)
    ]
    # Reviewers read briefings but cannot publish or change them.
    assert client.get(reverse("admin:literacy_systembriefing_add")).status_code == 403
    change = reverse("admin:literacy_systembriefing_change", args=[new.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"ai_system": system.pk, **TEXTS}).status_code == 403


def test_a_required_briefing_suspends_authority_until_acknowledged(trainer, reviewer):
    from oversight.services.authority import effective_level, explain_grants, journeys_decidable_by
    from tests.factories import JourneyFactory

    system = AISystemFactory(name="Support assistant")
    journey = JourneyFactory(ai_system=system)
    level = AuthorityLevelFactory(name="Reviewer", rank=1)
    BriefingRequirementFactory(authority_level=level, ai_system=system)
    AuthorityGrantFactory(
        user=reviewer,
        level=level,
        journey=journey,
        valid_from=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    )
    assert effective_level(reviewer, journey) == level  # nothing published yet: nothing to read

    first = publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    assert effective_level(reviewer, journey) is None
    assert list(journeys_decidable_by(reviewer)) == []  # the queue follows at once
    [status] = explain_grants(reviewer)
    assert status.reasons == (
        "briefing not acknowledged — version 1 of the Support assistant briefing",
    )

    acknowledge_briefing(user=reviewer, briefing=first)
    assert effective_level(reviewer, journey) == level
    assert list(journeys_decidable_by(reviewer)) == [journey]

    publish_briefing(ai_system=system, published_by=trainer, **TEXTS)
    assert effective_level(reviewer, journey) is None
    assert list(journeys_decidable_by(reviewer)) == []
