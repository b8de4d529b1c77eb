"""What every part of the demo shares: stable ids for records without a natural key, and a save
that dates the history row at the moment the story says it happened.

The run's state (`_Run`), its tally of what was created or found (`SeedResult`) and `_ensure`,
the look-up-or-create every configuration record goes through, live here too: every module of
the demo uses them.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import models

from literacy.models import (
    TrainingModuleVersion,
)
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    Journey,
    JudgementPoint,
    OverrideReason,
)

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


SYSTEM_SLUG = "support-assistant"
CURRENCY = "GBP"
EMAIL_DOMAIN = "lumenhome.example"

# Authority level names, used as natural keys.
REVIEWER_LEVEL = "Reviewer"
SENIOR_LEVEL = "Senior reviewer"
LEAD_LEVEL = "Team lead"


@dataclass
class Tally:
    created: int = 0
    found: int = 0


@dataclass
class SeedResult:
    """What a run created and what it found already there, per kind of record."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    # Demo usernames that existed already with a password other than the demo one.
    changed_passwords: list[str] = field(default_factory=list)

    def count(self, kind: str, *, created: bool, number: int = 1) -> None:
        tally = self.tallies.setdefault(kind, Tally())
        if created:
            tally.created += number
        else:
            tally.found += number

    @property
    def created_anything(self) -> bool:
        return any(tally.created for tally in self.tallies.values())


@dataclass
class _Run:
    """The records of one run, by natural key, so later steps can refer to earlier ones."""

    now: datetime.datetime
    today: datetime.date
    result: SeedResult
    # When the system and its rules were set up in the story: before the oldest grant, so no
    # rule is "in force from" after a decision taken under it.
    set_up_at: datetime.datetime | None = None
    users: dict = field(default_factory=dict)
    system: AISystem | None = None
    journeys: dict[str, Journey] = field(default_factory=dict)
    levels: dict[str, AuthorityLevel] = field(default_factory=dict)
    points: dict[tuple[str, str], JudgementPoint] = field(default_factory=dict)
    reasons: dict[str, OverrideReason] = field(default_factory=dict)
    versions: dict[str, TrainingModuleVersion] = field(default_factory=dict)
    grants: dict[str, AuthorityGrant] = field(default_factory=dict)


# The story's configuration (system, journeys, levels, rules, reasons) dates from this many days
# before the run: earlier than every grant (the oldest is 100 days old) and every case.
SET_UP_DAYS_AGO = 101


def _ensure(
    run: _Run,
    kind: str,
    model: type[models.Model],
    *,
    lookup: dict,
    defaults: dict,
    by,
    unvalidated: tuple[str, ...] = (),
    history_date: datetime.datetime | None = None,
) -> tuple[models.Model, bool]:
    """The record matching `lookup`, or a new, validated one saved with `by` as history user
    (and `history_date` as the time of its history row, for records the story dates back)."""
    existing = model.objects.filter(**lookup).first()
    if existing is not None:
        run.result.count(kind, created=False)
        return existing, False
    record = model(**lookup, **defaults)
    record.full_clean(exclude=unvalidated)
    record._history_user = by
    if history_date is not None:
        record._history_date = history_date
    record.save()
    run.result.count(kind, created=True)
    return record, True
