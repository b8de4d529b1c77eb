"""Oversight admin: judgement point edits go through the versioning service, evidence is
view-only, untrusted JSON is shown escaped."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from audit.history import history_token
from oversight.models import Case, JudgementPoint, TriggerCondition
from oversight.roles import REVIEWER
from tests.factories import (
    AuthorityGrantFactory,
    CaseFactory,
    JourneyFactory,
    JudgementPointFactory,
    StaffUserFactory,
    TriggerConditionFactory,
)

pytestmark = pytest.mark.django_db


def point_form_data(point: JudgementPoint, conditions: list[TriggerCondition], **changes) -> dict:
    """What the change page posts for this point and its conditions, with `changes` applied.

    `changes` keys are point fields, or `condition_<n>_<field>` for the n-th condition.
    """
    fields = {
        "journey": point.journey_id,
        "name": point.name,
        "slug": point.slug,
        "description": point.description,
        "is_active": point.is_active,
        "combinator": point.combinator,
        "required_level": point.required_level_id,
        "priority": point.priority,
        "sla_minutes": point.sla_minutes,
        "four_eyes": point.four_eyes,
        "options": json.dumps(point.options),
        # A field with a callable default posts its initial value too (show_hidden_initial).
        "initial-options": json.dumps(point.options),
        "sampling_rate": str(point.sampling_rate),
        "conditions-TOTAL_FORMS": len(conditions),
        "conditions-INITIAL_FORMS": len(conditions),
        "conditions-MIN_NUM_FORMS": 0,
        "conditions-MAX_NUM_FORMS": 1000,
    }
    for n, condition in enumerate(conditions):
        fields.update(
            {
                f"conditions-{n}-id": condition.pk,
                f"conditions-{n}-judgement_point": point.pk,
                f"conditions-{n}-position": condition.position,
                f"conditions-{n}-signal": condition.signal,
                f"conditions-{n}-operator": condition.operator,
                f"conditions-{n}-value": json.dumps(condition.value),
            }
        )
    for key, value in changes.items():
        if key.startswith("condition_"):
            _, n, name = key.split("_", 2)
            key = f"conditions-{n}-{name}"
        fields[key] = value
    # The version the page was loaded at (optimistic concurrency), for points already saved.
    if point.pk and point.history.exists():
        fields["_loaded_version"] = history_token(point)
    # An unticked checkbox is simply absent from a form post.
    return {key: value for key, value in fields.items() if value is not False}


def change_url(obj) -> str:
    return reverse(f"admin:oversight_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def point():
    point = JudgementPointFactory(name="Low confidence refund")
    TriggerConditionFactory(judgement_point=point, signal="confidence", operator="lt", value=0.7)
    return point


def test_editing_a_point_raises_its_version_and_records_who(admin_client, admin_user, point):
    conditions = list(point.conditions.all())

    response = admin_client.post(
        change_url(point), point_form_data(point, conditions, name="Refund, low confidence")
    )

    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.name, point.version) == ("Refund, low confidence", 2)
    latest = point.history.latest()
    assert latest.version == 2
    assert latest.history_user == admin_user


def test_editing_only_a_condition_raises_the_version(admin_client, point):
    conditions = list(point.conditions.all())

    response = admin_client.post(
        change_url(point), point_form_data(point, conditions, condition_0_value="0.6")
    )

    assert response.status_code == 302
    point.refresh_from_db()
    assert point.version == 2
    assert TriggerCondition.objects.get(pk=conditions[0].pk).value == 0.6


def test_saving_without_changes_keeps_the_version(admin_client, point):
    history_rows = point.history.count()

    response = admin_client.post(
        change_url(point), point_form_data(point, list(point.conditions.all()))
    )

    assert response.status_code == 302
    point.refresh_from_db()
    assert point.version == 1
    assert point.history.count() == history_rows


def test_slug_is_fixed_once_the_point_exists(admin_client, point):
    conditions = list(point.conditions.all())

    admin_client.post(change_url(point), point_form_data(point, conditions, slug="renamed"))

    assert JudgementPoint.objects.get(pk=point.pk).slug == point.slug


def test_removing_a_condition_is_an_edit_kept_in_history(admin_client, point):
    conditions = list(point.conditions.all())
    condition_history = TriggerCondition.history.filter(id=conditions[0].pk).count()

    response = admin_client.post(
        change_url(point), point_form_data(point, conditions, condition_0_DELETE="on")
    )

    assert response.status_code == 302
    point.refresh_from_db()
    assert point.version == 2
    assert not point.conditions.exists()
    removal = TriggerCondition.history.filter(id=conditions[0].pk)
    assert removal.count() == condition_history + 1
    assert removal.latest().history_type == "-"


@pytest.mark.parametrize("typed_value", ["abc", '"abc"'])
def test_invalid_condition_shows_the_error_on_its_field_and_nothing_changes(
    admin_client, point, typed_value
):
    conditions = list(point.conditions.all())
    counts = (point.history.count(), TriggerCondition.history.count())

    response = admin_client.post(
        change_url(point),
        point_form_data(
            point,
            conditions,
            name="Renamed",
            condition_0_operator="lt",
            condition_0_value=typed_value,
        ),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[0].errors["value"] == [
        "This operator compares numbers: enter a number, e.g. 0.7."
    ]
    point.refresh_from_db()
    assert (point.name, point.version) == ("Low confidence refund", 1)
    assert TriggerCondition.objects.get(pk=conditions[0].pk).value == 0.7
    assert (point.history.count(), TriggerCondition.history.count()) == counts


def test_condition_value_typed_as_plain_text_is_stored_as_text(admin_client, point):
    conditions = list(point.conditions.all())

    response = admin_client.post(
        change_url(point),
        point_form_data(
            point, conditions, condition_0_operator="contains", condition_0_value="refund policy"
        ),
    )

    assert response.status_code == 302
    assert TriggerCondition.objects.get(pk=conditions[0].pk).value == "refund policy"


def test_adding_a_point_with_a_condition_starts_at_version_one(admin_client, admin_user, point):
    journey = JourneyFactory()
    data = point_form_data(point, [], journey=journey.pk, slug="identity-mismatch")
    data.update(
        {
            "conditions-TOTAL_FORMS": 1,
            "conditions-0-position": 0,
            "conditions-0-signal": "identity_mismatch",
            "conditions-0-operator": "is_true",
            "conditions-0-value": "",
        }
    )

    response = admin_client.post(reverse("admin:oversight_judgementpoint_add"), data)

    assert response.status_code == 302
    created = JudgementPoint.objects.get(journey=journey, slug="identity-mismatch")
    assert created.version == 1
    assert created.history.get().history_user == admin_user
    assert [str(c) for c in created.conditions.all()] == ["identity_mismatch is true"]


def test_journey_pause_fields_cannot_be_edited_in_the_admin(admin_client):
    journey = JourneyFactory()

    response = admin_client.get(change_url(journey))

    form = response.context["adminform"].form
    assert not {"automation_state", "paused_reason", "paused_at", "paused_by"} & set(form.fields)


def test_case_page_shows_untrusted_json_escaped_and_indented(admin_client):
    case = CaseFactory(
        context={"order_id": "A-1", "note": "<script>alert(1)</script>"},
        proposal={"reply": "<img src=x onerror=alert(2)>"},
    )

    html = admin_client.get(change_url(case)).content.decode()

    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "\n  &quot;order_id&quot;: &quot;A-1&quot;" in html
    assert "What the system saw." in html  # the model field's help text


@pytest.fixture
def reviewer():
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=REVIEWER))
    return user


def test_reviewer_sees_cases_without_add_button_and_read_only(client, reviewer):
    case = CaseFactory()
    # Reviewers see only the cases they may decide (invariant 2): give this one authority.
    AuthorityGrantFactory(
        user=reviewer,
        level=case.required_level,
        journey=case.journey,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    client.force_login(reviewer)
    add_url = reverse("admin:oversight_case_add")

    changelist = client.get(reverse("admin:oversight_case_changelist"))
    assert changelist.status_code == 200
    assert str(case) in changelist.content.decode()
    assert add_url not in changelist.content.decode()
    assert client.get(add_url).status_code == 403

    page = client.get(change_url(case))
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields
    assert 'name="_save"' not in page.content.decode()

    assert client.post(change_url(case), {"status": "decided"}).status_code == 403
    case.refresh_from_db()
    assert case.status == "open"
    assert Case.history.filter(id=case.pk).count() == 1
