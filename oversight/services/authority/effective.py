"""Effective authority: which grants give authority at a moment, and which cases they allow.

A grant is effective at a moment when it is in date, not revoked, its holder is active, the
holder has current training for every module its level requires, and has acknowledged the
briefing its level requires on the grant's AI system."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    TrainingRequirement,
)
from literacy.services.status import current_module_ids, current_module_ids_by_user
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    Case,
    Journey,
)

DECIDE = "decide_journey"
OVERRIDE = "override_journey"
# `decidable_cases` at a moment this close to now is the live queue, narrowed by guardian.
LIVE_WINDOW = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class IneffectiveGrant:
    grant: AuthorityGrant
    missing_module_ids: frozenset
    unacknowledged_briefing: object = None


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
    briefings = unacknowledged_briefings([g for g in grants if g.pk], at=at)
    effective, lapsed = [], []
    for grant in grants:
        missing = required.get(grant.level_id, set()) - current
        briefing = briefings.get(grant.pk)
        if missing or briefing is not None:
            lapsed.append(IneffectiveGrant(grant, frozenset(missing), briefing))
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


def required_modules_by_level() -> dict:
    """{level id: set of module ids} for every level that requires training. One query."""
    required: dict = {}
    for level_id, module_id in TrainingRequirement.objects.filter(
        authority_level__isnull=False
    ).values_list("authority_level_id", "module_id"):
        required.setdefault(level_id, set()).add(module_id)
    return required


def effective_in_bulk(grants: list[AuthorityGrant], at: datetime.datetime) -> list:
    """The grants whose holders hold their level's training current at `at`: three queries
    for any number of grants and people (the batch form of `split_by_training`)."""
    required = required_modules_by_level()
    trained = current_module_ids_by_user(
        {g.user_id for g in grants if required.get(g.level_id)}, at=at
    )
    briefings = unacknowledged_briefings(grants, at=at)
    return [
        g
        for g in grants
        if not required.get(g.level_id, set()) - trained.get(g.user_id, set())
        and g.pk not in briefings
    ]


def unacknowledged_briefings(grants, *, at: datetime.datetime) -> dict:
    """{grant id: briefing} for grants whose level requires the briefing of their AI system and
    whose holder has not acknowledged its version in force at `at`. Three queries for any
    number of grants; a system with no briefing published yet asks for nothing.

    Grants need `journey` loaded (select_related) when their scope is a journey.
    """

    def system_of(grant):
        if grant.ai_system_id:
            return grant.ai_system_id
        return grant.journey.ai_system_id if grant.journey_id else None

    # Unscoped grants (e.g. "could this person hold this level?") have no system to read about.
    grants = [g for g in grants if g.ai_system_id or g.journey_id]
    if not grants:
        return {}
    required = set(
        BriefingRequirement.objects.filter(
            authority_level_id__in={g.level_id for g in grants}
        ).values_list("authority_level_id", "ai_system_id")
    )
    concerned = [g for g in grants if (g.level_id, system_of(g)) in required]
    if not concerned:
        return {}
    day = timezone.localdate(at)
    latest: dict = {}
    for briefing in SystemBriefing.objects.filter(
        ai_system_id__in={system_of(g) for g in concerned}, published_on__lte=day
    ).order_by("ai_system_id", "version"):
        latest[briefing.ai_system_id] = briefing
    acknowledged = set(
        BriefingAcknowledgement.objects.filter(
            user_id__in={g.user_id for g in concerned},
            briefing__in=list(latest.values()),
            acknowledged_at__lte=at,
        ).values_list("user_id", "briefing_id")
    )
    gaps = {}
    for grant in concerned:
        briefing = latest.get(system_of(grant))
        if briefing is not None and (grant.user_id, briefing.id) not in acknowledged:
            gaps[grant.id] = briefing
    return gaps
