"""What every part of the demo shares: stable ids for records without a natural key, and a save
that dates the history row at the moment the story says it happened."""

import datetime
import uuid

from django.db import models

DEMO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://hitl-oversight.example/demo/lumen-home")


def demo_id(name: str) -> uuid.UUID:
    """A stable id for a demo record that has no natural key (cases, decisions...)."""
    return uuid.uuid5(DEMO_NAMESPACE, name)


def save_dated(
    record: models.Model, *, by, at: datetime.datetime | None = None, validate: bool = True
) -> None:
    """Validate and save with `by` as history user and `at` as the history row's time (the
    moment it happened in the story; now when None). The generated story skips validation
    (`validate=False`): its hundreds of records would spend seconds on look-ups, and its tests
    check what it builds."""
    if validate:
        record.full_clean()
    record._history_user = by
    if at is not None:
        record._history_date = at
    elif hasattr(record, "_history_date"):
        del record._history_date  # an earlier save's moment is not this one's
    record.save()
