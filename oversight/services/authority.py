"""Who may decide what, at any moment: effective authority from grants and current training.

A grant is effective at a moment when it is in date, not revoked, its holder is active, and the
holder has current training for every module its level requires. A lapsed training makes the
grant ineffective (it is not deleted) until renewed.

Managing authority (invariant 4). A person manages authority on a scope when they hold the
object permission `oversight.manage_authority_ai_system` on an AI system (which covers every
journey of it) or `oversight.manage_authority_journey` on one journey. Only a superuser gives
or takes that permission, with `assign_manager` / `unassign_manager`, to members of the Manager
role; both are audited. Superusers manage every scope. A manager grants at most the level they
themselves hold effectively on that scope (superusers are exempt), never to themselves, and
only to active people whose training for the level is current when the grant starts.

Grants are the evidence; django-guardian object permissions are derived from them so queues
and APIs can filter with one query: whoever holds an effective grant whose level may decide
holds `oversight.decide_journey` on each journey it covers, and `oversight.override_journey`
too when the level may override. Grant, extend and revoke update the holder's rows at once;
time (a grant starting or ending, training lapsing) is caught by `reconcile_authority`, run
daily and at each grant's start and end.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import Actor, append_event
from literacy.models import TrainingCompletion, TrainingModule, TrainingRequirement
from literacy.services.briefings import unacknowledged_briefings
from literacy.services.status import current_module_ids, current_module_ids_by_user
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import (
    AISystem,
    AISystemUserObjectPermission,
    AuthorityGrant,
    AuthorityLevel,
    Case,
    Journey,
    JourneyUserObjectPermission,
)
from oversight.roles import MANAGER

DECIDE = "decide_journey"
OVERRIDE = "override_journey"
MANAGE_JOURNEY = "manage_authority_journey"
MANAGE_AI_SYSTEM = "manage_authority_ai_system"
SYNC_TASK = "oversight.tasks.sync_user_authority"
# A grant asked to start a few moments ago (a form filled in with "now") starts now; anything
# earlier would be backdating authority, which the record must never show.
START_TOLERANCE = datetime.timedelta(minutes=5)
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


# Who manages authority on which scope --------------------------------------------------------


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _when(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _is_manager(user) -> bool:
    return user.groups.filter(name=MANAGER).exists()


def manages_scope(
    user, *, journey: Journey | None = None, ai_system: AISystem | None = None
) -> bool:
    """Whether `user` manages authority on the journey or the AI system.

    A journey is managed through `manage_authority_journey` on it or `manage_authority_ai_system`
    on its AI system; an AI system only through the latter; either way only while the person
    is an active member of the Manager role (leaving the role suspends it). Superusers manage
    everything. Global (non-object) permissions do not count.
    """
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not _is_manager(user):
        return False
    if journey is not None:
        return user.has_perm(f"oversight.{MANAGE_JOURNEY}", journey) or user.has_perm(
            f"oversight.{MANAGE_AI_SYSTEM}", journey.ai_system
        )
    return user.has_perm(f"oversight.{MANAGE_AI_SYSTEM}", ai_system)


def ai_systems_managed_by(user):
    """AI systems on which `user` manages authority (all of them for a superuser)."""
    if user.is_active and user.is_superuser:
        return AISystem.objects.all()
    if not user.is_active or not _is_manager(user):
        return AISystem.objects.none()
    return get_objects_for_user(
        user, f"oversight.{MANAGE_AI_SYSTEM}", klass=AISystem, accept_global_perms=False
    )


def journeys_managed_by(user):
    """Journeys on which `user` manages authority, directly or through their AI system."""
    if user.is_active and user.is_superuser:
        return Journey.objects.all()
    if not user.is_active or not _is_manager(user):
        return Journey.objects.none()
    direct = get_objects_for_user(
        user, f"oversight.{MANAGE_JOURNEY}", klass=Journey, accept_global_perms=False
    )
    return Journey.objects.filter(
        Q(pk__in=direct.values("pk")) | Q(ai_system__in=ai_systems_managed_by(user))
    )


def managers_of_journey(journey: Journey):
    """The people who manage the journey (directly or through its AI system), superusers aside.

    Active members of the Manager role only, as `manages_scope` counts them; the people to tell
    when something stops the journey's automation.
    """
    direct = JourneyUserObjectPermission.objects.filter(
        content_object=journey, permission__codename=MANAGE_JOURNEY
    ).values("user_id")
    through_system = AISystemUserObjectPermission.objects.filter(
        content_object_id=journey.ai_system_id, permission__codename=MANAGE_AI_SYSTEM
    ).values("user_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=MANAGER)
        .filter(Q(pk__in=direct) | Q(pk__in=through_system))
        .distinct()
        .order_by("username")
    )


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


@dataclass(frozen=True)
class GrantOptions:
    """What a person may offer when granting: scopes and levels (see `grant_options`)."""

    ai_systems: list[AISystem]
    journeys: list[Journey]
    levels: list[AuthorityLevel]


def grant_options(granter, *, at: datetime.datetime | None = None) -> GrantOptions:
    """The scopes `granter` manages and holds a level on themselves, and the levels up to the
    highest they hold on any of them; superusers: every scope and level.

    For forms, so nobody is offered what they may not give. Each combination is still checked
    by `grant_authority` (a level may be grantable on one scope and not another).
    """
    levels = list(AuthorityLevel.objects.order_by("rank"))
    systems = list(ai_systems_managed_by(granter).order_by("name"))
    journeys = list(
        journeys_managed_by(granter).select_related("ai_system").order_by("ai_system__name", "name")
    )
    if granter.is_superuser:
        return GrantOptions(systems, journeys, levels)
    grants = effective_grants(granter, at=at)
    held = {s: level_on_scope(granter, ai_system=s, grants=grants) for s in systems}
    held.update({j: level_on_scope(granter, journey=j, grants=grants) for j in journeys})
    top = max((level.rank for level in held.values() if level), default=0)
    return GrantOptions(
        ai_systems=[s for s in systems if held[s]],
        journeys=[j for j in journeys if held[j]],
        levels=[level for level in levels if level.rank <= top],
    )


def _check_scope(journey, ai_system) -> None:
    if journey is not None and ai_system is not None:
        raise InvalidInput(
            "Choose either an AI system or one journey as the scope of a grant, not both."
        )
    if journey is None and ai_system is None:
        raise InvalidInput("Choose the scope of the grant: an AI system or one journey.")


def _missing_training(user, level: AuthorityLevel, *, at: datetime.datetime) -> list[str]:
    """Titles of the modules `level` requires that `user` does not hold current at `at`."""
    _, lapsed = split_by_training(user, [AuthorityGrant(user=user, level=level)], at=at)
    if not lapsed:
        return []
    return list(
        TrainingModule.objects.filter(id__in=lapsed[0].missing_module_ids)
        .order_by("title")
        .values_list("title", flat=True)
    )


def _check_may_grant(
    *, granter, user, level: AuthorityLevel, journey, ai_system, training_at, verb: str
) -> None:
    """The rules of invariant 4 for giving (or prolonging) `level` on a scope to `user`."""
    scope = journey or ai_system
    if granter.pk == user.pk:
        raise NotAllowed(f"Nobody may {verb} their own authority: ask another manager.")
    if not manages_scope(granter, journey=journey, ai_system=ai_system):
        raise NotAllowed(
            f"You do not manage authority on {scope}: an administrator must make you one of "
            "its managers first."
        )
    if not granter.is_superuser:
        own = level_on_scope(granter, journey=journey, ai_system=ai_system)
        if own is None:
            raise NotAllowed(
                f"You hold no authority level on {scope} yourself (or your training for it is "
                "not current), so you cannot give authority there."
            )
        if level.rank > own.rank:
            raise NotAllowed(
                f"You hold {own.name} on {scope}; you cannot give {level.name}, which ranks "
                "above it."
            )
    if not user.is_active:
        raise InvalidInput(
            f"{_person(user)}'s account is inactive: authority goes only to active people."
        )
    missing = _missing_training(user, level, at=training_at)
    if missing:
        raise NotAllowed(
            f"{_person(user)} does not have the training {level.name} requires current on "
            f"{timezone.localdate(training_at):%Y-%m-%d}: {', '.join(missing)}."
        )


def _grant_payload(grant: AuthorityGrant) -> dict:
    return {
        "user": grant.user.get_username(),
        "level": grant.level.name,
        "scope": str(grant.journey or grant.ai_system),
        "journey": str(grant.journey_id) if grant.journey_id else None,
        "ai_system": str(grant.ai_system_id) if grant.ai_system_id else None,
        "valid_from": grant.valid_from,
        "valid_until": grant.valid_until,
        "justification": grant.justification,
    }


def _lock_grant(grant: AuthorityGrant) -> AuthorityGrant:
    return (
        AuthorityGrant.objects.select_for_update(of=("self",))
        .select_related("user", "level", "journey__ai_system", "ai_system")
        .get(pk=grant.pk)
    )


def _refuse_if_ended(grant: AuthorityGrant, now: datetime.datetime, verb: str) -> None:
    if grant.revoked_at is not None:
        raise InvalidInput(
            f"This grant was revoked on {_when(grant.revoked_at)}; it cannot be {verb}. "
            "Make a new grant instead."
        )
    if grant.valid_until is not None and grant.valid_until <= now:
        raise InvalidInput(
            f"This grant expired on {_when(grant.valid_until)}; it cannot be {verb}. "
            "Make a new grant instead."
        )


def grant_authority(
    *,
    granter,
    user,
    level: AuthorityLevel,
    journey: Journey | None = None,
    ai_system: AISystem | None = None,
    valid_from: datetime.datetime | None = None,
    valid_until: datetime.datetime | None = None,
    justification: str,
) -> AuthorityGrant:
    """Give `user` the authority `level` on one scope for a period (invariant 4).

    Rules: exactly one scope (an AI system or one journey); a justification; the grant starts
    now or later (never backdated; a start within START_TOLERANCE of now means now) and ends,
    if it ends, after it starts; nobody grants to themselves; the granter manages the scope
    and holds at least `level` there themselves (superusers are exempt from both); the holder
    is active and has every module the level requires current on the start day. A refusal
    raises NotAllowed or InvalidInput and changes nothing. On success: the grant with its
    history row (by the granter), a "grant.created" event, the holder's guardian permissions
    brought in step, and one-off syncs scheduled for a later start and for the end.
    """
    now = timezone.now()
    _check_scope(journey, ai_system)
    justification = (justification or "").strip()
    if not justification:
        raise InvalidInput("Say why this person needs this authority: a justification is needed.")
    valid_from = valid_from or now
    if valid_from < now - START_TOLERANCE:
        raise InvalidInput(
            "A grant cannot start in the past: authority is recorded from the moment it is "
            "given. Leave 'valid from' empty to start now, or choose a later moment."
        )
    valid_from = max(valid_from, now)
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInput("'Valid until' must be after 'valid from'.")
    with transaction.atomic():
        _check_may_grant(
            granter=granter,
            user=user,
            level=level,
            journey=journey,
            ai_system=ai_system,
            training_at=valid_from,
            verb="grant",
        )
        grant = AuthorityGrant(
            user=user,
            level=level,
            journey=journey,
            ai_system=ai_system,
            valid_from=valid_from,
            valid_until=valid_until,
            justification=justification,
            granted_by=granter,
        )
        grant._history_user = granter
        grant._change_reason = "granted"
        grant.save()
        append_event(
            actor=Actor.for_user(granter),
            action="grant.created",
            obj=grant,
            payload={**_grant_payload(grant), "granted_by": granter.get_username()},
        )
        sync_authority_permissions(user=user, now=now)
        _schedule_sync(grant, now=now)
    return grant


def extend_grant(
    *, granter, grant: AuthorityGrant, valid_until: datetime.datetime, justification: str
) -> AuthorityGrant:
    """Move the end of a running grant later.

    Rules: a justification; the grant is neither revoked nor expired and has an end (one that
    runs until revoked needs no extension); the new end is after the current one; and the rules
    of a new grant on the grant's scope: the granter manages it and holds at least its level
    (superusers exempt), is not the holder, and the holder is active with the level's training
    current now. The justification goes to the history row's change reason and the
    "grant.extended" event.
    """
    now = timezone.now()
    justification = (justification or "").strip()
    if not justification:
        raise InvalidInput("Say why the grant is extended: a justification is needed.")
    with transaction.atomic():
        grant = _lock_grant(grant)
        _refuse_if_ended(grant, now, "extended")
        if grant.valid_until is None:
            raise InvalidInput("This grant runs until revoked: there is no end to extend.")
        if valid_until is None or valid_until <= grant.valid_until:
            raise InvalidInput(
                f"The new end must be later than the current one ({_when(grant.valid_until)})."
            )
        _check_may_grant(
            granter=granter,
            user=grant.user,
            level=grant.level,
            journey=grant.journey,
            ai_system=grant.ai_system,
            training_at=max(now, grant.valid_from),
            verb="extend",
        )
        previous = grant.valid_until
        grant.valid_until = valid_until
        grant._history_user = granter
        grant._change_reason = f"extended: {justification}"
        grant.save(update_fields=["valid_until"])
        append_event(
            actor=Actor.for_user(granter),
            action="grant.extended",
            obj=grant,
            payload={
                "user": grant.user.get_username(),
                "level": grant.level.name,
                "scope": str(grant.journey or grant.ai_system),
                "previous_valid_until": previous,
                "valid_until": valid_until,
                "justification": justification,
            },
        )
        sync_authority_permissions(user=grant.user, now=now)
        _schedule_sync(grant, now=now)
    return grant


def revoke_grant(*, revoker, grant: AuthorityGrant, reason: str) -> AuthorityGrant:
    """End a grant at once: revoked now, by whom, and why.

    Rules: a reason; the revoker manages the grant's scope (superusers manage all); a grant
    already revoked or expired is refused. The holder's guardian permissions follow at once.
    """
    now = timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the grant is revoked: a reason is needed.")
    with transaction.atomic():
        grant = _lock_grant(grant)
        _refuse_if_ended(grant, now, "revoked")
        scope = grant.journey or grant.ai_system
        if not manages_scope(revoker, journey=grant.journey, ai_system=grant.ai_system):
            raise NotAllowed(
                f"You do not manage authority on {scope}: only its managers may revoke it."
            )
        grant.revoked_at = now
        grant.revoked_by = revoker
        grant.revocation_reason = reason
        grant._history_user = revoker
        grant._change_reason = f"revoked: {reason}"
        grant.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
        append_event(
            actor=Actor.for_user(revoker),
            action="grant.revoked",
            obj=grant,
            payload={
                "user": grant.user.get_username(),
                "level": grant.level.name,
                "scope": str(scope),
                "revoked_at": now,
                "reason": reason,
            },
        )
        sync_authority_permissions(user=grant.user, now=now)
    return grant


def assign_manager(
    *,
    assigned_by,
    manager,
    ai_system: AISystem | None = None,
    journey: Journey | None = None,
):
    """Make `manager` a manager of authority on an AI system (or one journey).

    Rules: only an active superuser assigns managers; the manager is an active member of the
    Manager role; exactly one scope; not already a manager of it. Gives guardian's
    `manage_authority_ai_system` (or `manage_authority_journey`) object permission and appends
    "manager.assigned". A manager still needs an own grant on the scope: they never give more
    than they hold.
    """
    _check_scope(journey, ai_system)
    scope = journey or ai_system
    codename = MANAGE_JOURNEY if journey is not None else MANAGE_AI_SYSTEM
    if not (assigned_by.is_active and assigned_by.is_superuser):
        raise NotAllowed("Only an administrator (superuser) may assign managers of authority.")
    if not manager.is_active or not _is_manager(manager):
        raise InvalidInput(
            f"{_person(manager)} is not an active member of the {MANAGER} role: add them to "
            "it first."
        )
    if manager.has_perm(f"oversight.{codename}", scope) and not manager.is_superuser:
        raise InvalidInput(f"{_person(manager)} already manages authority on {scope}.")
    with transaction.atomic():
        assign_perm(f"oversight.{codename}", manager, scope)
        append_event(
            actor=Actor.for_user(assigned_by),
            action="manager.assigned",
            obj=scope,
            payload={"manager": manager.get_username(), "scope": str(scope)},
        )


def unassign_manager(
    *,
    assigned_by,
    manager,
    ai_system: AISystem | None = None,
    journey: Journey | None = None,
):
    """Stop `manager` managing authority on a scope (grants they made stay as they are).

    Rules: only an active superuser; exactly one scope; the person manages it now.
    """
    _check_scope(journey, ai_system)
    scope = journey or ai_system
    codename = MANAGE_JOURNEY if journey is not None else MANAGE_AI_SYSTEM
    if not (assigned_by.is_active and assigned_by.is_superuser):
        raise NotAllowed("Only an administrator (superuser) may remove managers of authority.")
    with transaction.atomic():
        if not remove_perm(f"oversight.{codename}", manager, scope)[0]:
            raise InvalidInput(f"{_person(manager)} does not manage authority on {scope}.")
        append_event(
            actor=Actor.for_user(assigned_by),
            action="manager.unassigned",
            obj=scope,
            payload={"manager": manager.get_username(), "scope": str(scope)},
        )


# Guardian permissions derived from grants ------------------------------------------------------


def _queue_permission_ids() -> dict[str, int]:
    return dict(
        Permission.objects.filter(
            content_type__app_label="oversight", codename__in=[DECIDE, OVERRIDE]
        ).values_list("codename", "id")
    )


def _required_modules() -> dict:
    """{level id: set of module ids} for every level that requires training. One query."""
    required: dict = {}
    for level_id, module_id in TrainingRequirement.objects.filter(
        authority_level__isnull=False
    ).values_list("authority_level_id", "module_id"):
        required.setdefault(level_id, set()).add(module_id)
    return required


def _effective_in_bulk(grants: list[AuthorityGrant], at: datetime.datetime) -> list:
    """The grants whose holders hold their level's training current at `at`: three queries
    for any number of grants and people (the batch form of `split_by_training`)."""
    required = _required_modules()
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


def wanted_permissions(*, at: datetime.datetime, user_ids=None) -> set[tuple]:
    """The (user id, journey id, permission codename) rows the grants call for at `at`.

    Effective grants only (in date, not revoked, active holder, training current) whose level
    may decide: `decide_journey` on each journey covered (every journey of an AI system for a
    system-wide grant), and `override_journey` too when the level may override. A fixed
    number of queries for any number of grants; `user_ids` limits it to some people.
    """
    grants = AuthorityGrant.objects.filter(
        in_force_filter(at), user__is_active=True, level__may_decide=True
    ).select_related("level", "journey")
    if user_ids is not None:
        grants = grants.filter(user_id__in=user_ids)
    effective = _effective_in_bulk(list(grants), at)
    journeys_of: dict = {}
    system_ids = {g.ai_system_id for g in effective if g.ai_system_id}
    if system_ids:
        for journey_id, system_id in Journey.objects.filter(
            ai_system_id__in=system_ids
        ).values_list("id", "ai_system_id"):
            journeys_of.setdefault(system_id, []).append(journey_id)
    wanted = set()
    for grant in effective:
        journey_ids = (
            [grant.journey_id] if grant.journey_id else journeys_of.get(grant.ai_system_id, [])
        )
        for journey_id in journey_ids:
            wanted.add((grant.user_id, journey_id, DECIDE))
            if grant.level.may_override:
                wanted.add((grant.user_id, journey_id, OVERRIDE))
    return wanted


@dataclass
class PermissionChanges:
    added: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)


def _sync_permissions(*, at: datetime.datetime, user_ids=None) -> PermissionChanges:
    """Add the missing and delete the stray decide/override rows, in bulk."""
    permission_ids = _queue_permission_ids()
    codenames = {pk: codename for codename, pk in permission_ids.items()}
    wanted = wanted_permissions(at=at, user_ids=user_ids)
    rows = JourneyUserObjectPermission.objects.filter(permission_id__in=codenames)
    if user_ids is not None:
        rows = rows.filter(user_id__in=user_ids)
    present = {
        (user_id, journey_id, codenames[permission_id]): row_id
        for row_id, user_id, journey_id, permission_id in rows.values_list(
            "id", "user_id", "content_object_id", "permission_id"
        )
    }
    missing = sorted(wanted - present.keys(), key=str)
    stray = sorted(present.keys() - wanted, key=str)
    if missing:
        JourneyUserObjectPermission.objects.bulk_create(
            [
                JourneyUserObjectPermission(
                    user_id=user_id,
                    content_object_id=journey_id,
                    permission_id=permission_ids[codename],
                )
                for user_id, journey_id, codename in missing
            ],
            ignore_conflicts=True,
        )
    if stray:
        JourneyUserObjectPermission.objects.filter(id__in=[present[key] for key in stray]).delete()
    return PermissionChanges(added=missing, removed=stray)


def sync_authority_permissions(*, user, now: datetime.datetime | None = None) -> PermissionChanges:
    """Bring one person's decide/override object permissions in step with their grants now.

    Called by every service that changes a grant, inside its transaction; safe to run again.
    """
    return _sync_permissions(at=now or timezone.now(), user_ids=[user.pk])


def _schedule_sync(grant: AuthorityGrant, *, now: datetime.datetime) -> None:
    """Re-derive the holder's permissions when the grant starts (if later) and when it ends.

    ONCE schedules with negative `repeats`: django-q2 runs each at its moment and deletes it.
    A schedule made stale by a later change only re-derives what is already in step.
    """
    for moment in (grant.valid_from, grant.valid_until):
        if moment is not None and moment > now:
            Schedule.objects.create(
                name=f"Authority of user {grant.user_id} at {moment.isoformat()}",
                func=SYNC_TASK,
                args=repr(grant.user_id),
                schedule_type=Schedule.ONCE,
                repeats=-1,
                next_run=moment,
            )


@dataclass
class ReconcileReport:
    """What `reconcile_authority` found out of step and put right."""

    at: datetime.datetime
    added: list[tuple[str, str, str]] = field(default_factory=list)
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.expired)

    def lines(self) -> list[str]:
        lines = [
            f"Authority reconciled as at {_when(self.at)}: {len(self.added)} permission(s) "
            f"added, {len(self.removed)} removed, {len(self.expired)} grant(s) recorded as "
            "expired."
        ]
        if not self.changed:
            lines.append("Nothing was out of step.")
        lines += [f"  added:   {who} — {perm} on {journey}" for who, journey, perm in self.added]
        lines += [f"  removed: {who} — {perm} on {journey}" for who, journey, perm in self.removed]
        lines += [f"  expired: {grant}" for grant in self.expired]
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _labelled(rows: list[tuple]) -> list[tuple[str, str, str]]:
    """(username, journey, codename) for report lines: two queries, only when rows changed."""
    if not rows:
        return []
    names = dict(
        get_user_model()
        .objects.filter(pk__in={user_id for user_id, _, _ in rows})
        .values_list("pk", "username")
    )
    journeys = {
        journey.pk: str(journey)
        for journey in Journey.objects.filter(pk__in={j for _, j, _ in rows}).select_related(
            "ai_system"
        )
    }
    return [(names[u], journeys[j], codename) for u, j, codename in rows]


def _record_expiries(*, at: datetime.datetime, user_ids=None) -> list[str]:
    """Append "grant.expired" once for every grant whose end has passed (unless revoked first).

    The ledger itself says which were already recorded, so no field is needed and running
    again records nothing. The ledger head is locked first, so two runs at once queue up and
    the second finds the first's events.
    """
    candidates = AuthorityGrant.objects.filter(valid_until__lte=at).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=F("valid_until"))
    )
    if user_ids is not None:
        candidates = candidates.filter(user_id__in=user_ids)
    candidate_ids = {str(pk) for pk in candidates.values_list("pk", flat=True)}
    if not candidate_ids:
        return []
    LedgerHead.objects.select_for_update().filter(singleton=1).first()
    reported = set(
        AuditEvent.objects.filter(
            action="grant.expired", object_type=AuthorityGrant._meta.label_lower
        ).values_list("object_id", flat=True)
    )
    unreported = candidate_ids - reported
    if not unreported:
        return []
    expired = []
    actor = Actor.system("reconcile_authority")
    for grant in (
        AuthorityGrant.objects.filter(pk__in=unreported)
        .select_related("user", "level", "journey__ai_system", "ai_system")
        .order_by("valid_until", "pk")
    ):
        append_event(
            actor=actor,
            action="grant.expired",
            obj=grant,
            payload={
                "user": grant.user.get_username(),
                "level": grant.level.name,
                "scope": str(grant.journey or grant.ai_system),
                "valid_until": grant.valid_until,
            },
        )
        expired.append(f"{grant} (ended {_when(grant.valid_until)})")
    return expired


def reconcile_authority(*, now: datetime.datetime | None = None, users=None) -> ReconcileReport:
    """Put guardian's decide/override permissions back in step with the grants, and record
    grants that have expired.

    Grants are the truth; permission rows drift as time passes (a grant starts or ends, a
    training lapses or is renewed) or if anyone edits them by hand. For everyone (or only
    `users`): adds the rows effective grants call for, deletes every other decide/override row
    (also of people with no grant at all), and appends "grant.expired" once per grant whose end
    has passed. One transaction, bulk writes, a fixed number of queries apart from one ledger
    append per newly expired grant. Safe to run again: a second run finds nothing to do.
    """
    at = now or timezone.now()
    user_ids = None if users is None else [user.pk for user in users]
    with transaction.atomic():
        changes = _sync_permissions(at=at, user_ids=user_ids)
        expired = _record_expiries(at=at, user_ids=user_ids)
        return ReconcileReport(
            at=at,
            added=_labelled(changes.added),
            removed=_labelled(changes.removed),
            expired=expired,
        )


# Explaining a person's authority ---------------------------------------------------------------


@dataclass(frozen=True)
class GrantStatus:
    """One grant and whether it gives authority at a moment; if not, every reason why."""

    grant: AuthorityGrant
    reasons: tuple[str, ...]

    @property
    def effective(self) -> bool:
        return not self.reasons


def _training_gaps(user, module_ids, day: datetime.date) -> dict:
    """{module id: why it is not current} for modules `user` lacks on `day`. Two queries."""
    if not module_ids:
        return {}
    titles = dict(TrainingModule.objects.filter(id__in=module_ids).values_list("id", "title"))
    latest: dict = {}
    for completion in (
        TrainingCompletion.objects.filter(
            user=user, passed=True, module_version__module_id__in=module_ids, completed_on__lte=day
        )
        .select_related("module_version")
        .order_by("completed_on")
    ):
        latest[completion.module_version.module_id] = completion
    gaps = {}
    for module_id in module_ids:
        completion = latest.get(module_id)
        if completion is None:
            why = "not completed"
        elif completion.expires_on <= day:
            why = f"expired on {completion.expires_on:%Y-%m-%d}"
        else:
            why = (
                f"version {completion.module_version.version} completed; a newer version "
                "requires re-qualification"
            )
        gaps[module_id] = f"{titles.get(module_id, module_id)}: {why}"
    return gaps


def explain_grants(user, *, at: datetime.datetime | None = None) -> list[GrantStatus]:
    """Every grant of `user`, each with why it does or does not give authority at `at`.

    The same rule as `effective_grants`: in date, not revoked, holder active, and each module
    the level requires current (naming the modules not completed, expired, or needing
    re-qualification). A fixed number of queries.
    """
    at = at or timezone.now()
    grants = list(
        AuthorityGrant.objects.filter(user=user)
        .select_related("level", "journey__ai_system", "ai_system", "granted_by", "revoked_by")
        .order_by("-valid_from")
    )
    if not grants:
        return []
    required = _required_modules()
    current = current_module_ids(user, at=at) if required else set()
    missing_anywhere = set().union(*(required.get(g.level_id, set()) for g in grants)) - current
    gaps = _training_gaps(user, missing_anywhere, timezone.localdate(at))
    briefings = unacknowledged_briefings(grants, at=at)
    statuses = []
    for grant in grants:
        reasons = []
        if grant.valid_from > at:
            reasons.append(f"not yet in force: starts {_when(grant.valid_from)}")
        if grant.valid_until is not None and grant.valid_until <= at:
            reasons.append(f"out of date: ended {_when(grant.valid_until)}")
        if grant.revoked_at is not None and grant.revoked_at <= at:
            by = _person(grant.revoked_by) if grant.revoked_by else "the product"
            reasons.append(f"revoked {_when(grant.revoked_at)} by {by}: {grant.revocation_reason}")
        if not user.is_active:
            reasons.append("the holder's account is inactive")
        for module_id in sorted(required.get(grant.level_id, set()) - current, key=str):
            reasons.append(f"training missing — {gaps[module_id]}")
        if grant.pk in briefings:
            briefing = briefings[grant.pk]
            reasons.append(
                f"briefing not acknowledged — version {briefing.version} of the "
                f"{briefing.ai_system} briefing"
            )
        statuses.append(GrantStatus(grant, tuple(reasons)))
    return statuses


def sync_journey_holders(*, journey: Journey, now: datetime.datetime | None = None) -> None:
    """A new journey falls under every grant on its AI system at once, not at the nightly
    reconcile: bring those holders' permissions in step."""
    holder_ids = set(
        AuthorityGrant.objects.filter(ai_system_id=journey.ai_system_id).values_list(
            "user_id", flat=True
        )
    )
    if holder_ids:
        _sync_permissions(at=now or timezone.now(), user_ids=sorted(holder_ids))
