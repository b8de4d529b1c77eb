"""Manager scope on configuration, in the admin: forms offer only the managed AI systems and
journeys, other systems' journeys, points, conditions, guardrails and keys open view-only, and
a forged post changes nothing.

Mark manages the support assistant (refunds, billing), not the credit checker (credit).
"""

from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.history import history_token
from audit.models import AuditEvent
from oversight.models import (
    AISystemAPIKey,
    Guardrail,
    Journey,
    JudgementPoint,
    TriggerCondition,
)
from tests.factories import GuardrailFactory, JudgementPointFactory, TriggerConditionFactory
from tests.oversight.authority_world import NOW, world
from tests.oversight.test_admin import point_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


@pytest.fixture
def manager_client(client, w):
    client.force_login(w.manager)
    return client


def snapshot() -> dict:
    return {
        "journeys": sorted(Journey.objects.values_list("slug", "ai_system__slug", "name")),
        "journey versions": Journey.history.count(),
        "points": sorted(JudgementPoint.objects.values_list("slug", "journey__slug", "version")),
        "point versions": JudgementPoint.history.count(),
        "conditions": sorted(
            (str(pk), str(value))
            for pk, value in TriggerCondition.objects.values_list("pk", "value")
        ),
        "guardrails": sorted(
            (str(j), str(t)) for j, t in Guardrail.objects.values_list("journey_id", "threshold")
        ),
        "keys": AISystemAPIKey.objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


def admin_url(model_name, view, *args):
    return reverse(f"admin:oversight_{model_name}_{view}", args=args)


def choice_labels(response, field) -> set[str]:
    form = response.context["adminform"].form
    return {label for value, label in form.fields[field].choices if value}


def new_point_data(w, journey) -> dict:
    template = JudgementPoint(
        journey=journey,
        name="Low confidence",
        slug="low-confidence",
        required_level=w.reviewer,
        options=["approve"],
    )
    return point_form_data(template, [], journey=journey.pk)


# Judgement points and their conditions ---------------------------------------------------------


def test_the_add_form_offers_only_journeys_the_manager_manages(manager_client):
    response = manager_client.get(admin_url("judgementpoint", "add"))

    assert response.status_code == 200
    assert choice_labels(response, "journey") == {
        "Support assistant / Refunds",
        "Support assistant / Billing",
    }


def test_a_point_posted_on_another_systems_journey_is_refused_and_nothing_changes(
    w, manager_client
):
    before = snapshot()

    response = manager_client.post(admin_url("judgementpoint", "add"), new_point_data(w, w.credit))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["journey"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert snapshot() == before


def test_a_point_on_a_managed_journey_is_added(w, manager_client):
    response = manager_client.post(admin_url("judgementpoint", "add"), new_point_data(w, w.refunds))

    assert response.status_code == 302
    assert JudgementPoint.objects.get(slug="low-confidence").journey == w.refunds


def test_a_point_of_an_unmanaged_journey_opens_view_only_and_a_post_is_refused(w, manager_client):
    point = JudgementPointFactory(journey=w.credit, required_level=w.reviewer)
    condition = TriggerConditionFactory(judgement_point=point, value=0.7)
    url = admin_url("judgementpoint", "change", point.pk)
    before = snapshot()

    page = manager_client.get(url)
    posted = manager_client.post(
        url, point_form_data(point, [condition], description="x", condition_0_value="0.2")
    )

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert posted.status_code == 403
    assert snapshot() == before


def test_a_point_of_a_managed_journey_is_changed_conditions_included(w, manager_client):
    point = JudgementPointFactory(journey=w.refunds, required_level=w.reviewer)
    condition = TriggerConditionFactory(judgement_point=point, value=0.7)

    response = manager_client.post(
        admin_url("judgementpoint", "change", point.pk),
        point_form_data(point, [condition], condition_0_value="0.6"),
    )

    assert response.status_code == 302
    assert TriggerCondition.objects.get(pk=condition.pk).value == 0.6
    assert JudgementPoint.objects.get(pk=point.pk).version == point.version + 1


# Journeys --------------------------------------------------------------------------------------


def journey_data(journey, **changes) -> dict:
    return {
        "ai_system": journey.ai_system_id,
        "name": journey.name,
        "description": journey.description,
        "required_context_keys": "[]",
        "sampling_rate": str(journey.sampling_rate),
        "default_sla_minutes": str(journey.default_sla_minutes),
        "approval_valid_minutes": str(journey.approval_valid_minutes),
        # The version the page was loaded at (optimistic concurrency).
        "_loaded_version": history_token(journey),
        **changes,
    }


def test_a_journey_of_an_unmanaged_system_opens_view_only_and_a_post_is_refused(w, manager_client):
    url = admin_url("journey", "change", w.credit.pk)
    before = snapshot()

    page = manager_client.get(url)
    posted = manager_client.post(url, journey_data(w.credit, name="Renamed"))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert posted.status_code == 403
    assert snapshot() == before


def test_a_journey_of_a_managed_system_is_changed_but_not_moved_to_another_system(
    w, manager_client
):
    url = admin_url("journey", "change", w.refunds.pk)
    before = snapshot()

    moved = manager_client.post(url, journey_data(w.refunds, ai_system=w.checker.pk))
    assert moved.status_code == 200
    assert "ai_system" in moved.context["adminform"].form.errors
    assert snapshot() == before

    renamed = manager_client.post(url, journey_data(w.refunds, name="Refunds and returns"))
    assert renamed.status_code == 302
    assert Journey.objects.get(pk=w.refunds.pk).name == "Refunds and returns"
    assert AuditEvent.objects.filter(action="journey.changed").count() == 1


# Guardrails and API keys -------------------------------------------------------------------------


def test_guardrails_are_offered_and_changed_only_on_managed_journeys(w, manager_client):
    foreign = GuardrailFactory(journey=w.credit, threshold=Decimal("0.3"))
    before = snapshot()

    add_page = manager_client.get(admin_url("guardrail", "add"))
    posted = manager_client.post(
        admin_url("guardrail", "add"),
        {
            "journey": w.credit.pk,
            "kind": foreign.kind,
            "threshold": "0.9",
            "window": "50",
            "min_sample": "10",
            "on_breach": "pause",
            "is_active": "on",
        },
    )
    change_page = manager_client.get(admin_url("guardrail", "change", foreign.pk))

    assert choice_labels(add_page, "journey") == {
        "Support assistant / Refunds",
        "Support assistant / Billing",
    }
    assert posted.status_code == 200
    assert "journey" in posted.context["adminform"].form.errors
    assert change_page.context["has_change_permission"] is False
    assert snapshot() == before


def test_api_keys_are_offered_only_for_managed_systems(w, manager_client):
    w.manager.user_permissions.add(
        Permission.objects.get(codename="add_aisystemapikey", content_type__app_label="oversight")
    )
    before = snapshot()

    page = manager_client.get(admin_url("aisystemapikey", "add"))
    posted = manager_client.post(
        admin_url("aisystemapikey", "add"), {"ai_system": w.checker.pk, "name": "prod"}
    )

    assert choice_labels(page, "ai_system") == {"Support assistant"}
    assert posted.status_code == 200
    assert "ai_system" in posted.context["adminform"].form.errors
    assert snapshot() == before


def test_a_superuser_is_offered_every_system_and_journey(w, client):
    client.force_login(w.admin)

    points = client.get(admin_url("judgementpoint", "add"))
    keys = client.get(admin_url("aisystemapikey", "add"))

    assert "Credit checker / Credit limits" in choice_labels(points, "journey")
    assert choice_labels(keys, "ai_system") == {"Support assistant", "Credit checker"}
