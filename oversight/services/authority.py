"""Who may decide what, at any moment: effective authority from grants and current training.

A grant is effective at a moment when it is in date, not revoked, its holder is active, and the
holder has current training for every module its level requires. A lapsed training makes the
grant ineffective (it is not deleted) until renewed.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from literacy.models import TrainingRequirement
from literacy.services.status import current_module_ids
from oversight.models import AuthorityGrant, AuthorityLevel, Case, Journey


@dataclass(frozen=True)
class IneffectiveGrant:
    grant: AuthorityGrant
    missing_module_ids: frozenset


def in_force_filter(at: datetime.datetime) -> Q:
    """Grants in date and not revoked at `at` (training is checked separately)."""
    return (
        Q(valid_from__lte=at)
        & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
    )


def grants_in_force(user, *, at: datetime.datetime | None = None) -> list[AuthorityGrant]:
    at = at or timezone.now()
    if not user.is_active:
        return []
    return list(
        AuthorityGrant.objects.filter(in_force_filter(at), user=user).select_related(
            "level", "journey", "ai_system"
        )
    )


def split_by_training(
    user, grants: list[AuthorityGrant], *, at: datetime.datetime
) -> tuple[list[AuthorityGrant], list[IneffectiveGrant]]:
    """Grants whose level's required training is current, and those missing some (with which)."""
    if not grants:
        return [], []
    required: dict = {}
    for level_id, module_id in TrainingRequirement.objects.filter(
        authority_level_id__in={g.level_id for g in grants}
    ).values_list("authority_level_id", "module_id"):
        required.setdefault(level_id, set()).add(module_id)
    current = current_module_ids(user, at=at) if required else set()
    effective, lapsed = [], []
    for grant in grants:
        missing = required.get(grant.level_id, set()) - current
        if missing:
            lapsed.append(IneffectiveGrant(grant, frozenset(missing)))
        else:
            effective.append(grant)
    return effective, lapsed


def effective_grants(user, *, at: datetime.datetime | None = None) -> list[AuthorityGrant]:
    """The user's grants that give authority at `at` (in force, holder trained). ≤ 4 queries."""
    at = at or timezone.now()
    effective, _ = split_by_training(user, grants_in_force(user, at=at), at=at)
    return effective


def _covers(grant: AuthorityGrant, journey: Journey) -> bool:
    return grant.journey_id == journey.pk or grant.ai_system_id == journey.ai_system_id


def effective_grant(
    user, journey: Journey, *, at: datetime.datetime | None = None
) -> AuthorityGrant | None:
    """The highest-ranked effective grant covering the journey (directly or via its system)."""
    covering = [g for g in effective_grants(user, at=at) if _covers(g, journey)]
    return max(covering, key=lambda g: g.level.rank, default=None)


def effective_level(
    user, journey: Journey, *, at: datetime.datetime | None = None
) -> AuthorityLevel | None:
    """The authority level `user` holds on `journey` at `at`, or None."""
    grant = effective_grant(user, journey, at=at)
    return grant.level if grant else None


def decidable_cases_filter(grants: list[AuthorityGrant]) -> Q | None:
    """A filter for cases these grants allow deciding: scope covers the journey and the rank
    reaches the case's required level. None when the grants allow nothing."""
    condition = None
    for grant in grants:
        if not grant.level.may_decide:
            continue
        scope = (
            Q(journey_id=grant.journey_id)
            if grant.journey_id
            else Q(journey__ai_system_id=grant.ai_system_id)
        )
        clause = scope & Q(required_level__rank__lte=grant.level.rank)
        condition = clause if condition is None else condition | clause
    return condition


def decidable_cases(user, *, at: datetime.datetime | None = None):
    """Cases `user` may see and decide (invariant 2), at a fixed number of queries."""
    condition = decidable_cases_filter(effective_grants(user, at=at))
    if condition is None:
        return Case.objects.none()
    return Case.objects.filter(condition)
