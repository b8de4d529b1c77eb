"""The gate caches each journey's rules per process; a change saved anywhere is used at once.

"Elsewhere" below means another process: the rows are changed with QuerySet.update(),
bulk_update_with_history() and bulk_create(), which send no signals, so this process's cache is
not told and only the stamp read with the journey can notice. (Judgement points are changed with
their history, as the product does: on PostgreSQL a change without it is refused at commit.)
"""

from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from oversight.models import GateEvaluation, JudgementPoint, TriggerCondition
from oversight.services.configuration import save_judgement_point
from tests.factories import SuperUserFactory

from .conftest import gate_body

URL = "/api/v1/gate/"


def ask(client, confidence):
    response = client.post(URL, gate_body(signals={"confidence": confidence}), format="json")
    assert response.status_code in (200, 202), response.json()
    return response


def edited_elsewhere(point: JudgementPoint, **changes) -> None:
    """What save_judgement_point does to the point's row, done by another process."""
    point = JudgementPoint.objects.get(pk=point.pk)
    for name, value in changes.items():
        setattr(point, name, value)
    point.version += 1
    point.updated_at = timezone.now()
    bulk_update_with_history(
        [point], JudgementPoint, [*changes, "version", "updated_at"], batch_size=1
    )


def test_a_threshold_raised_elsewhere_is_used_by_the_next_call(client, refunds):
    assert ask(client, 0.8).status_code == 200  # cached: confidence below 0.7 fires
    point = JudgementPoint.objects.get(journey=refunds, slug="low-confidence")
    TriggerCondition.objects.filter(judgement_point=point).update(value=0.9)
    edited_elsewhere(point)

    response = ask(client, 0.8)

    assert response.status_code == 202
    assert response.json()["matched"] == ["low-confidence"]
    evaluation = GateEvaluation.objects.get(pk=response.json()["evaluation"])
    assert evaluation.matched[0]["version"] == point.version + 1
    assert evaluation.matched[0]["fired"][0]["value"] == 0.9


def test_a_point_deactivated_elsewhere_stops_firing(client, refunds):
    assert ask(client, 0.2).status_code == 202
    point = JudgementPoint.objects.get(journey=refunds, slug="low-confidence")
    edited_elsewhere(point, is_active=False)

    assert ask(client, 0.2).status_code == 200


def test_a_condition_added_elsewhere_fires_without_a_version_change(client, refunds):
    assert ask(client, 0.9).status_code == 200
    point = JudgementPoint.objects.get(journey=refunds, slug="emotional-customer")
    TriggerCondition.objects.bulk_create(
        [TriggerCondition(judgement_point=point, signal="confidence", operator="lt", value=0.95)]
    )

    response = ask(client, 0.9)

    assert response.status_code == 202
    assert response.json()["matched"] == ["emotional-customer"]


def test_a_point_added_elsewhere_fires(client, refunds, levels):
    assert ask(client, 0.9).status_code == 200
    (added,) = JudgementPoint.objects.bulk_create(
        [
            JudgementPoint(
                journey=refunds, slug="a-new-point", name="New", required_level=levels["reviewer"]
            )
        ]
    )
    TriggerCondition.objects.bulk_create(
        [TriggerCondition(judgement_point=added, signal="confidence", operator="lte", value=0.9)]
    )

    assert ask(client, 0.9).json()["matched"] == ["a-new-point"]


def test_an_edit_through_the_service_is_used_by_the_next_call(client, refunds):
    assert ask(client, 0.8).status_code == 200
    point = JudgementPoint.objects.get(journey=refunds, slug="low-confidence")
    condition = point.conditions.get()
    condition.value = 0.85
    condition.save()
    save_judgement_point(point=point, changed_by=SuperUserFactory())

    assert ask(client, 0.8).status_code == 202


def test_another_journeys_change_leaves_this_journeys_rules_alone(client, refunds, identity):
    assert ask(client, 0.8).status_code == 200
    edited_elsewhere(JudgementPoint.objects.get(journey=identity))

    assert ask(client, 0.8).status_code == 200
    assert ask(client, 0.5).status_code == 202
