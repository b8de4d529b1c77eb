"""Manager scope on configuration, in the services: journeys, judgement points (and so their
conditions) and credentials change only on AI systems the person manages; superusers on all.

Mark manages the support assistant (refunds, billing), not the credit checker (credit).
"""

import pytest
import time_machine

from audit.models import AuditEvent
from audit.services.ledger import Actor
from oversight.exceptions import NotAllowed
from oversight.models import AISystem, AISystemAPIKey, Journey, JudgementPoint
from oversight.services.configuration import save_journey, save_judgement_point
from oversight.services.credentials import (
    create_api_key,
    revoke_api_key,
    rotate_webhook_secret,
)
from tests.factories import JudgementPointFactory
from tests.oversight.authority_world import NOW, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


def snapshot() -> dict:
    """Everything a refused configuration change must leave as it was."""
    return {
        "journeys": sorted(Journey.objects.values_list("slug", "ai_system__slug", "name")),
        "journey versions": Journey.history.count(),
        "points": sorted(JudgementPoint.objects.values_list("slug", "journey__slug", "version")),
        "point versions": JudgementPoint.history.count(),
        "keys": sorted(AISystemAPIKey.objects.values_list("prefix", "revoked")),
        "secrets": sorted(AISystem.objects.values_list("slug", "webhook_secret_encrypted")),
        "audit events": AuditEvent.objects.count(),
    }


def new_point(journey, w) -> JudgementPoint:
    return JudgementPoint(
        journey=journey,
        slug="low-confidence",
        name="Low confidence",
        options=["approve"],
        required_level=w.reviewer,
    )


# Judgement points -----------------------------------------------------------------------------


def test_a_manager_adds_a_judgement_point_on_a_journey_they_manage(w):
    point = save_judgement_point(point=new_point(w.refunds, w), changed_by=w.manager)

    assert point.version == 1
    assert point.history.get().history_user == w.manager


def test_a_judgement_point_on_another_systems_journey_is_refused_and_nothing_changes(w):
    before = snapshot()

    with pytest.raises(NotAllowed) as refused:
        save_judgement_point(point=new_point(w.credit, w), changed_by=w.manager)

    assert refused.value.message == (
        "Mark Ellison does not manage Credit checker / Credit limits: only its managers may add "
        "or change its judgement points."
    )
    assert snapshot() == before


def test_editing_a_point_of_an_unmanaged_journey_is_refused_and_the_version_stays(w):
    point = JudgementPointFactory(journey=w.credit)
    before = snapshot()
    point.description = "loosened"

    with pytest.raises(NotAllowed, match="only its managers may add or change its judgement"):
        save_judgement_point(point=point, changed_by=w.manager)

    assert snapshot() == before
    assert JudgementPoint.objects.get(pk=point.pk).description != "loosened"


def test_a_point_cannot_be_moved_from_an_unmanaged_journey_to_a_managed_one(w):
    point = JudgementPointFactory(journey=w.credit)
    before = snapshot()
    point.journey = w.refunds

    with pytest.raises(NotAllowed) as refused:
        save_judgement_point(point=point, changed_by=w.manager)

    assert "does not manage Credit checker / Credit limits" in refused.value.message
    assert snapshot() == before


def test_people_outside_the_manager_role_change_no_judgement_point(w):
    before = snapshot()
    for person, name in ((w.rhea, "Rhea Stone"), (None, "Nobody")):
        with pytest.raises(
            NotAllowed, match=f"^{name} does not manage Support assistant / Refunds"
        ):
            save_judgement_point(point=new_point(w.refunds, w), changed_by=person)
    assert snapshot() == before


def test_a_superuser_changes_points_of_every_system(w):
    point = save_judgement_point(point=new_point(w.credit, w), changed_by=w.admin)

    assert point.journey == w.credit


# Journeys -------------------------------------------------------------------------------------


def test_a_manager_changes_a_journey_of_their_system_with_history_and_a_ledger_event(w):
    w.refunds.name = "Refunds and returns"

    save_journey(journey=w.refunds, by=w.manager)

    assert w.refunds.history.latest().history_user == w.manager
    event = AuditEvent.objects.get(action="journey.changed")
    assert event.actor_label == "mark"
    assert event.object_id == str(w.refunds.pk)


def test_a_journey_of_an_unmanaged_system_is_neither_added_nor_changed(w):
    before = snapshot()
    w.credit.name = "Renamed"

    with pytest.raises(NotAllowed) as refused:
        save_journey(journey=w.credit, by=w.manager)
    with pytest.raises(NotAllowed, match="does not manage Credit checker"):
        save_journey(journey=Journey(ai_system=w.checker, slug="new", name="New"), by=w.manager)

    assert refused.value.message == (
        "Mark Ellison does not manage Credit checker: only its managers may add or change its "
        "journeys."
    )
    assert snapshot() == before


def test_a_journey_cannot_be_moved_from_an_unmanaged_system(w):
    before = snapshot()
    w.credit.ai_system = w.assistant

    with pytest.raises(NotAllowed) as refused:
        save_journey(journey=w.credit, by=w.manager)

    assert "does not manage Credit checker" in refused.value.message
    assert snapshot() == before


# Credentials ----------------------------------------------------------------------------------


def test_a_manager_issues_keys_only_for_systems_they_manage(w):
    api_key, _ = create_api_key(ai_system=w.assistant, name="prod", actor=Actor.for_user(w.manager))
    assert api_key.ai_system == w.assistant
    before = snapshot()

    with pytest.raises(NotAllowed) as refused:
        create_api_key(ai_system=w.checker, name="prod", actor=Actor.for_user(w.manager))

    assert refused.value.message == (
        "Mark Ellison does not manage Credit checker: only its managers may issue its API keys."
    )
    assert snapshot() == before


def test_keys_and_secrets_of_an_unmanaged_system_are_neither_revoked_nor_rotated(w):
    api_key, _ = create_api_key(ai_system=w.checker, name="prod", actor=Actor.system("tests"))
    before = snapshot()

    with pytest.raises(NotAllowed, match="only its managers may revoke its API keys"):
        revoke_api_key(api_key=api_key, actor=Actor.for_user(w.manager))
    with pytest.raises(NotAllowed, match="only its managers may rotate its webhook secret"):
        rotate_webhook_secret(ai_system=w.checker, actor=Actor.for_user(w.manager))
    with pytest.raises(NotAllowed, match="^Rhea Stone does not manage Support assistant"):
        create_api_key(ai_system=w.assistant, name="x", actor=Actor.for_user(w.rhea))

    assert snapshot() == before


def test_operators_commands_and_superusers_act_on_every_system(w):
    create_api_key(ai_system=w.checker, name="cli", actor=Actor.system("create_api_key command"))
    create_api_key(ai_system=w.checker, name="admin", actor=Actor.for_user(w.admin))
    rotate_webhook_secret(ai_system=w.checker, actor=Actor.for_user(w.admin))

    assert AISystemAPIKey.objects.filter(ai_system=w.checker).count() == 2
