"""Permissions follow training and new journeys at once, not only at the nightly reconcile."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from literacy.services.completions import record_completion
from oversight.roles import TRAINER
from tests.factories import AuthorityGrantFactory, UserFactory
from tests.oversight.authority_world import NOW, queue_permissions, world

pytestmark = pytest.mark.django_db


def test_recording_a_training_makes_a_lapsed_grant_effective_in_the_queue_at_once():
    with time_machine.travel(NOW, tick=False):
        w = world()
        AuthorityGrantFactory(
            user=w.untrained,
            level=w.reviewer,
            journey=w.refunds,
            granted_by=w.manager,
            valid_from=NOW - datetime.timedelta(days=1),
        )
        assert queue_permissions(w.untrained) == set()
        trainer = UserFactory(is_staff=True)
        trainer.groups.add(Group.objects.get(name=TRAINER))
        record_completion(
            user=w.untrained,
            module_version=w.course_version,
            completed_on=NOW.date(),
            score=Decimal("95"),
            recorded_by=trainer,
        )
        assert queue_permissions(w.untrained) == {("una", "refunds", "decide_journey")}


def test_a_new_journey_joins_the_queue_of_system_wide_holders_at_once(client):
    with time_machine.travel(NOW, tick=False):
        w = world()
        assert ("mark", "returns", "decide_journey") not in queue_permissions(w.manager)
        client.force_login(w.admin)
        response = client.post(
            reverse("admin:oversight_journey_add"),
            {
                "ai_system": w.assistant.pk,
                "slug": "returns",
                "name": "Returns",
                "description": "",
                "required_context_keys": "[]",
                "sampling_rate": "0",
                "default_sla_minutes": "240",
                "approval_valid_minutes": "1440",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert ("mark", "returns", "decide_journey") in queue_permissions(w.manager)
