"""Changes to oversight configuration that carry a version."""

from django.db import transaction

from oversight.models import JudgementPoint


def save_judgement_point(*, point: JudgementPoint, changed_by) -> JudgementPoint:
    """Save a new or edited judgement point, raising its version on every edit.

    Gate evaluations record the version they were judged by, so an edit must never keep the old
    number. Edits to its trigger conditions count as edits of the point.
    """
    with transaction.atomic():
        if not point._state.adding:
            current = JudgementPoint.objects.select_for_update().only("version").get(pk=point.pk)
            point.version = current.version + 1
        point._history_user = changed_by
        point.save()
    return point
