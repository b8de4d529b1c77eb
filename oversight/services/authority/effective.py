"""Effective authority: which grants give authority at a moment, and which cases they allow.

A grant is effective at a moment when it is in date, not revoked, its holder is active, the
holder has current training for every module its level requires, and has acknowledged the
briefing its level requires on the grant's AI system."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    Case,
    Journey,
)
from oversight.services.authority.moment import (
    LIVE_WINDOW,
    NOT_IN_FORCE,
    AuthorityRecord,
    grant_as_recorded,
)

DECIDE = "decide_journey"
OVERRIDE = "override_journey"


@dataclass(frozen=True)
class IneffectiveGrant:
    grant: AuthorityGrant
    missing_module_ids: frozenset
    unacknowledged_briefing: object = None  # a moment.Shortfall naming the briefing


def in_force_filter(at: datetime.datetime) -> Q:
    """Grants in date and not revoked at `at` (training is checked separately)."""
    return (
        Q(valid_from__lte=at)
        & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
    )


def grants_in_force(user, *, at: datetime.datetime | None = None) -> list[AuthorityGrant]:
    """The user's grants in date and not revoked at `at`, as their history recorded them then
    (training aside), for an active holder."""
    at = at or timezone.now()
    if not user.is_active:
        return []
    record = AuthorityRecord.load(user_ids=[user.pk])
    return [
        grant_as_recorded(j.version)
        for j in record.grants_on_record(user.pk, at)
        if not j.has(NOT_IN_FORCE)
    ]


def split_by_training(
    user, grants: list[AuthorityGrant], *, at: datetime.datetime
) -> tuple[list[AuthorityGrant], list[IneffectiveGrant]]:
    """Grants whose level's training and briefing requirements `user` met at `at`, and those
    missing some (with which). Grants may be unsaved ("could this person hold this level?"):
    only their level and scope count. The rule of `AuthorityRecord`."""
    if not grants:
        return [], []
    record = AuthorityRecord.load(user_ids=[user.pk])
    effective, lapsed = [], []
    for grant in grants:
        missing = record.training_gaps(user.pk, grant.level_id, at)
        system_id = grant.ai_system_id or (grant.journey.ai_system_id if grant.journey_id else None)
        briefing = record.briefing_shortfall(user.pk, grant.level_id, system_id, at)
        if missing or briefing is not None:
            lapsed.append(IneffectiveGrant(grant, frozenset(missing), briefing))
        else:
            effective.append(grant)
    return effective, lapsed


def effective_grants(user, *, at: datetime.datetime | None = None) -> list[AuthorityGrant]:
    """The user's grants that give authority at `at` (now by default), as they stood then.

    The rule of `moment.AuthorityRecord` (grant history, requirements as of `at`, training
    current that day, briefings published and acknowledged by `at`, active holder). A fixed
    number of queries.
    """
    at = at or timezone.now()
    record = AuthorityRecord.load(user_ids=[user.pk])
    return [grant_as_recorded(j.version) for j in record.effective_grants(user.pk, at)]


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


def journeys_decidable_by(user):
    """Journeys on which `user` holds guardian's `decide_journey` object permission.

    Object permissions only (a global permission gives nothing); superusers get every journey,
    as guardian gives them. A lazy queryset: used inside another filter it adds no query.
    """
    return get_objects_for_user(
        user, f"oversight.{DECIDE}", klass=Journey, accept_global_perms=False
    )


def decidable_cases(user, *, at: datetime.datetime | None = None):
    """Cases `user` may see and decide (invariant 2), at a fixed number of queries.

    The grants decide (scope and rank, training current at `at`). For the live queue (`at`
    not given, or within LIVE_WINDOW of now) guardian's `decide_journey` rows narrow it
    further by journey, so the queue, the API and `journeys_decidable_by` never disagree in
    the holder's favour. Another moment is answered from the grants alone: permission rows
    only describe now.
    """
    condition = decidable_cases_filter(effective_grants(user, at=at))
    if condition is None:
        return Case.objects.none()
    cases = Case.objects.filter(condition)
    if at is None or abs(at - timezone.now()) <= LIVE_WINDOW:
        cases = cases.filter(journey__in=journeys_decidable_by(user))
    return cases


def level_on_scope(
    user,
    *,
    journey: Journey | None = None,
    ai_system: AISystem | None = None,
    grants: list[AuthorityGrant] | None = None,
    at: datetime.datetime | None = None,
) -> AuthorityLevel | None:
    """The highest level `user` holds effectively on the scope at `at`.

    On a journey, a grant on the journey or on its AI system counts (as `effective_level`); on
    an AI system, only grants on the whole system do. Pass `grants` (the user's effective
    grants) to answer for many scopes without querying again.
    """
    if grants is None:
        grants = effective_grants(user, at=at)
    if journey is not None:
        covering = [g for g in grants if _covers(g, journey)]
    else:
        covering = [g for g in grants if g.ai_system_id == ai_system.pk]
    best = max(covering, key=lambda g: g.level.rank, default=None)
    return best.level if best else None


def effective_in_bulk(grants: list[AuthorityGrant], at: datetime.datetime) -> list:
    """The grants that give authority at `at`, judged by `AuthorityRecord` for all their
    holders at once: a fixed number of queries for any number of grants and people."""
    record = AuthorityRecord.load(user_ids={g.user_id for g in grants})
    return [g for g in grants if record.judge_grant(g.pk, at).effective]
