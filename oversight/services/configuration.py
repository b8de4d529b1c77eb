"""Changes to oversight configuration: journeys and judgement points (with their conditions).

Only a manager of the AI system (or of the journey, for its judgement points) changes its
configuration; superusers change all of it (see `manages_scope`). The admin offers only the
managed systems and journeys, and these services refuse anything else, so the rule holds for
every caller.
"""

from django.db import transaction

from audit.services.ledger import Actor, append_event
from oversight.exceptions import NotAllowed
from oversight.models import Journey, JudgementPoint
from oversight.services.authority import manages_scope, sync_journey_holders


def _person(user) -> str:
    if user is None:
        return "Nobody"
    return user.get_full_name() or user.get_username()


def save_journey(*, journey: Journey, by) -> Journey:
    """Create or change a journey of an AI system.

    Rules: `by` manages the journey's AI system (both systems, when the journey is moved to
    another). A new journey's decide permissions follow its system's grants at once. Appends
    "journey.created" or "journey.changed".
    """
    if by is None or not manages_scope(by, ai_system=journey.ai_system):
        raise NotAllowed(
            f"{_person(by)} does not manage {journey.ai_system}: only its managers may add or "
            "change its journeys."
        )
    with transaction.atomic():
        adding = journey._state.adding
        if not adding:
            before = Journey.objects.select_for_update().only("ai_system_id").get(pk=journey.pk)
            if before.ai_system_id != journey.ai_system_id and not manages_scope(
                by, ai_system=before.ai_system
            ):
                raise NotAllowed(
                    f"{_person(by)} does not manage {before.ai_system}: only its managers may "
                    "change its journeys."
                )
        journey._history_user = by
        journey.save()
        if adding:
            sync_journey_holders(journey=journey)
        append_event(
            actor=Actor.for_user(by),
            action="journey.created" if adding else "journey.changed",
            obj=journey,
            payload={"journey": str(journey), "ai_system": str(journey.ai_system)},
        )
    return journey


def save_judgement_point(*, point: JudgementPoint, changed_by) -> JudgementPoint:
    """Save a new or edited judgement point, raising its version on every edit.

    Gate evaluations record the version they were judged by, so an edit must never keep the old
    number. Edits to its trigger conditions count as edits of the point. Only a manager of the
    point's journey (of both journeys, when it is moved) may save it.
    """
    if changed_by is None or not manages_scope(changed_by, journey=point.journey):
        raise NotAllowed(
            f"{_person(changed_by)} does not manage {point.journey}: only its managers may add "
            "or change its judgement points."
        )
    with transaction.atomic():
        if not point._state.adding:
            current = (
                JudgementPoint.objects.select_for_update()
                .only("version", "journey_id")
                .get(pk=point.pk)
            )
            if current.journey_id != point.journey_id:
                stored = Journey.objects.select_related("ai_system").get(pk=current.journey_id)
                if not manages_scope(changed_by, journey=stored):
                    raise NotAllowed(
                        f"{_person(changed_by)} does not manage {stored}: only its managers may "
                        "change its judgement points."
                    )
            point.version = current.version + 1
        point._history_user = changed_by
        point.save()
    return point
