"""Whether a person's training is current, at any moment (for authority and registers)."""

import datetime

from django.db.models import Max
from django.utils import timezone

from literacy.models import TrainingCompletion, TrainingModule, TrainingModuleVersion


def _day(at: datetime.datetime | datetime.date | None) -> datetime.date:
    if at is None:
        return timezone.localdate()
    if isinstance(at, datetime.datetime):
        return timezone.localdate(at)
    return at


def current_module_ids(user, *, at=None) -> set:
    """Ids of the modules whose training `user` holds current on that day. Two queries.

    Current means: a passed completion dated on or before the day and not yet expired, of a
    version no older than the newest version published by then that requires re-qualification.
    """
    day = _day(at)
    requalify_from = dict(
        TrainingModuleVersion.objects.filter(requires_requalification=True, published_on__lte=day)
        .values("module_id")
        .annotate(latest=Max("version"))
        .values_list("module_id", "latest")
    )
    completions = TrainingCompletion.objects.filter(
        user=user, passed=True, completed_on__lte=day, expires_on__gt=day
    ).values_list("module_version__module_id", "module_version__version")
    return {
        module_id
        for module_id, version in completions
        if version >= requalify_from.get(module_id, 0)
    }


def is_current(user, module: TrainingModule, *, at=None) -> bool:
    """Whether `user` holds `module`'s training current on that day."""
    return module.id in current_module_ids(user, at=at)


def current_module_ids_by_user(user_ids, *, at=None) -> dict:
    """`current_module_ids` for many people at once: {user id: set of module ids}. Two queries.

    The same rule as `current_module_ids`, for registers and reconciliation that must not ask
    once per person. People with nothing current are absent from the result.
    """
    day = _day(at)
    user_ids = set(user_ids)
    if not user_ids:
        return {}
    requalify_from = dict(
        TrainingModuleVersion.objects.filter(requires_requalification=True, published_on__lte=day)
        .values("module_id")
        .annotate(latest=Max("version"))
        .values_list("module_id", "latest")
    )
    completions = TrainingCompletion.objects.filter(
        user_id__in=user_ids, passed=True, completed_on__lte=day, expires_on__gt=day
    ).values_list("user_id", "module_version__module_id", "module_version__version")
    current: dict = {}
    for user_id, module_id, version in completions:
        if version >= requalify_from.get(module_id, 0):
            current.setdefault(user_id, set()).add(module_id)
    return current
