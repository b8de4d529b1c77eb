"""Optimistic concurrency in the admin: a save over a version the person has not seen is refused,
names who changed what, keeps the person's input, and changes nothing."""

import datetime
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.history import history_token
from audit.models import AuditEvent
from oversight.models import AuthorityGrant, Guardrail, Journey
from tests.factories import (
    AuthorityGrantFactory,
    GuardrailFactory,
    JourneyFactory,
    JudgementPointFactory,
    SuperUserFactory,
    TrainingCompletionFactory,
    TriggerConditionFactory,
)
from tests.oversight.test_admin import point_form_data

pytestmark = pytest.mark.django_db

TOKEN = "_loaded_version"


@pytest.fixture
def first():
    return SuperUserFactory(username="ana", first_name="Ana", last_name="First")


@pytest.fixture
def second():
    return SuperUserFactory(username="bo", first_name="Bo", last_name="Second")


def loaded_token(client, url: str) -> str:
    """The version token the change page hands the browser, as a person's tab holds it."""
    page = client.get(url).content.decode()
    match = re.search(rf'name="{TOKEN}" value="([^"]+)"', page)
    assert match, "the change form carries no version token"
    return match.group(1)


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def test_the_second_of_two_stale_saves_of_a_point_is_refused_and_names_the_first(
    client, first, second
):
    point = JudgementPointFactory(name="Low confidence refund", sampling_rate=0.1)
    TriggerConditionFactory(judgement_point=point, signal="confidence", operator="lt", value=0.7)
    conditions = list(point.conditions.all())
    url = change_url(point)
    client.force_login(first)
    first_token = loaded_token(client, url)
    client.force_login(second)
    second_token = loaded_token(client, url)

    # Ana raises the threshold and saves first.
    client.force_login(first)
    saved = client.post(
        url, {**point_form_data(point, conditions, condition_0_value="0.8"), TOKEN: first_token}
    )
    assert saved.status_code == 302
    point.refresh_from_db()
    version, history_rows = point.version, point.history.count()
    events = AuditEvent.objects.count()
    assert version == 2

    # Bo, on the page he opened before, changes only the description.
    client.force_login(second)
    # What his page still shows: the old threshold.
    stale = point_form_data(point, conditions, description="Clearer words", condition_0_value="0.7")
    response = client.post(url, {**stale, TOKEN: second_token})

    assert response.status_code == 200
    page = response.content.decode()
    assert "was changed since you opened it, by Ana First" in page
    assert "Nothing was saved" in page
    assert "version: 1 → 2" in page
    assert "Clearer words" in page  # his input is kept in the form
    point.refresh_from_db()
    assert point.version == version and point.description != "Clearer words"
    assert point.conditions.get().value == 0.8
    assert point.history.count() == history_rows
    assert AuditEvent.objects.count() == events
    # The re-shown form now carries the current version: saving again is a deliberate choice.
    assert loaded_token_in(page) == history_token(point)


def loaded_token_in(page: str) -> str:
    return re.search(rf'name="{TOKEN}" value="([^"]+)"', page).group(1)


def test_saving_again_after_the_refusal_applies_the_input(client, first):
    point = JudgementPointFactory(description="old")
    conditions = []
    url = change_url(point)
    client.force_login(first)
    stale_token = loaded_token(client, url)
    point.description = "changed elsewhere"
    point.save()

    refused = client.post(
        url, {**point_form_data(point, conditions, description="mine"), TOKEN: stale_token}
    )
    assert refused.status_code == 200
    retried = client.post(
        url,
        {
            **point_form_data(point, conditions, description="mine"),
            TOKEN: loaded_token_in(refused.content.decode()),
        },
    )

    assert retried.status_code == 302
    point.refresh_from_db()
    assert point.description == "mine"


def test_a_save_without_a_version_token_is_refused_and_changes_nothing(client, first):
    journey = JourneyFactory(description="before")
    history_rows = journey.history.count()
    client.force_login(first)

    response = client.post(change_url(journey), journey_form_data(journey, description="after"))

    assert response.status_code == 200
    assert "did not say which version" in response.content.decode()
    journey.refresh_from_db()
    assert journey.description == "before"
    assert journey.history.count() == history_rows


def journey_form_data(journey: Journey, **changes) -> dict:
    data = {
        "ai_system": journey.ai_system_id,
        "name": journey.name,
        "description": journey.description,
        "required_context_keys": "[]",
        "initial-required_context_keys": "[]",
        "sampling_rate": str(journey.sampling_rate),
        "default_sla_minutes": journey.default_sla_minutes,
        "approval_valid_minutes": journey.approval_valid_minutes,
    }
    if journey.allow_pii_in_proposal:
        data["allow_pii_in_proposal"] = "on"
    return {**data, **changes}


def test_a_stale_journey_save_is_refused_with_who_and_what(client, first, second):
    journey = JourneyFactory(description="before", default_sla_minutes=60)
    url = change_url(journey)
    client.force_login(second)
    stale_token = loaded_token(client, url)
    client.force_login(first)
    fresh = client.post(
        url,
        {**journey_form_data(journey, default_sla_minutes=30), TOKEN: loaded_token(client, url)},
    )
    assert fresh.status_code == 302

    client.force_login(second)
    response = client.post(
        url, {**journey_form_data(journey, description="after"), TOKEN: stale_token}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "by Ana First" in page and "60 → 30" in page
    journey.refresh_from_db()
    assert (journey.description, journey.default_sla_minutes) == ("before", 30)


def test_a_stale_guardrail_save_is_refused(client, first, second):
    rail = GuardrailFactory(threshold=0.2)
    url = change_url(rail)
    client.force_login(second)
    stale_token = loaded_token(client, url)
    rail.threshold = Decimal("0.3")
    rail.save()
    history_rows = rail.history.count()
    data = {
        "journey": rail.journey_id,
        "kind": rail.kind,
        "threshold": "0.25",
        "window": rail.window,
        "min_sample": rail.min_sample,
        "on_breach": rail.on_breach,
        "is_active": "on",
        TOKEN: stale_token,
    }

    response = client.post(url, data)

    assert response.status_code == 200
    assert "was changed since you opened it" in response.content.decode()
    assert Guardrail.objects.get(pk=rail.pk).threshold == Decimal("0.3")
    assert rail.history.count() == history_rows


def test_a_stale_training_record_save_is_refused(client, first):
    completion = TrainingCompletionFactory(score=70)
    url = change_url(completion)
    client.force_login(first)
    stale_token = loaded_token(client, url)
    completion.score = 90
    completion.save()
    history_rows = completion.history.count()
    page = client.get(url)
    form = page.context["adminform"].form
    data = {
        name: form[name].value()
        for name in form.fields
        if form[name].value() not in (None, "") and name != "evidence"
    }
    data.update({"score": 75, TOKEN: stale_token})

    response = client.post(url, data)

    assert response.status_code == 200
    assert "was changed since you opened it" in response.content.decode()
    completion.refresh_from_db()
    assert completion.score == 90
    assert completion.history.count() == history_rows


def test_a_stale_extension_of_a_grant_is_refused(client, first):
    grant = AuthorityGrantFactory(valid_until=timezone.now() + datetime.timedelta(days=30))
    url = reverse("admin:oversight_authoritygrant_extend", args=[grant.pk])
    client.force_login(first)
    stale_token = loaded_token(client, url)
    later = timezone.now() + datetime.timedelta(days=90)
    grant.valid_until = later
    grant.save()
    history_rows = grant.history.count()

    response = client.post(
        url,
        {
            "valid_until": (timezone.now() + datetime.timedelta(days=60)).strftime("%Y-%m-%d"),
            "justification": "Covers the quarter-end peak.",
            TOKEN: stale_token,
        },
    )

    assert response.status_code == 200
    assert "was changed since you opened it" in response.content.decode()
    grant.refresh_from_db()
    assert grant.valid_until == later
    assert AuthorityGrant.history.filter(id=grant.pk).count() == history_rows


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_saves_from_the_same_version_at_once_one_wins(postgres_only):
    """Both tabs loaded the same version and press save together: the row lock makes the check
    and the save one step, so exactly one is applied and the other is told."""
    point = JudgementPointFactory(description="start")
    users = [SuperUserFactory(username=f"editor{n}") for n in range(2)]
    token = history_token(point)
    barrier = threading.Barrier(2)
    answers, errors = {}, []

    def save(n: int):
        client = Client()
        client.force_login(users[n])
        data = {**point_form_data(point, [], description=f"edit {n}"), TOKEN: token}
        try:
            barrier.wait(timeout=10)
            answers[n] = client.post(change_url(point), data).status_code
        except Exception as error:  # reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(answers.values()) == [200, 302]
    point.refresh_from_db()
    winner = next(n for n, status in answers.items() if status == 302)
    assert point.description == f"edit {winner}"
    assert point.version == 2
