"""Granting, extending and revoking authority, and assigning managers (invariant 4)."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from audit.services.ledger import Actor, append_event
from literacy.models import TrainingCompletion, TrainingModule
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import (
    AISystem,
    AuthorityGrant,
    AuthorityLevel,
    Journey,
)
from oversight.roles import MANAGER
from oversight.services.authority.claims import release_claims_beyond_authority
from oversight.services.authority.effective import (
    effective_grants,
    level_on_scope,
    split_by_training,
)
from oversight.services.authority.reconcile import schedule_sync, sync_authority_permissions
from oversight.services.authority.scope import (
    MANAGE_AI_SYSTEM,
    MANAGE_JOURNEY,
    ai_systems_managed_by,
    is_manager,
    journeys_managed_by,
    manages_scope,
)
from oversight.services.authority.wording import day_label, moment_label, person_name

# A grant asked to start a few moments ago (a form filled in with "now") starts now; anything
# earlier would be backdating authority, which the record must never show.
START_TOLERANCE = datetime.timedelta(minutes=5)


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


def _missing_training(user, level: AuthorityLevel, *, at: datetime.datetime) -> list:
    """The modules `level` requires that `user` does not hold current at `at`, by title."""
    _, lapsed = split_by_training(user, [AuthorityGrant(user=user, level=level)], at=at)
    if not lapsed:
        return []
    return list(
        TrainingModule.objects.filter(id__in=lapsed[0].missing_module_ids).order_by("title")
    )


def _last_attempts(user, modules: list, *, at: datetime.datetime) -> str:
    """One sentence per missing module: the person's last attempt at it before `at`, so the
    manager sees why (failed, expired, never taken) without opening the training records."""
    sentences = []
    for module in modules:
        last = (
            TrainingCompletion.objects.filter(
                user=user, module_version__module=module, completed_on__lte=timezone.localdate(at)
            )
            .select_related("module_version")
            .order_by("-completed_on", "-recorded_at")
            .first()
        )
        if last is None:
            sentences.append(f"No attempt at {module.title} is recorded.")
            continue
        score = "" if last.score is None else f" with {last.score.normalize():f} %"
        result = "passed" if last.passed else "failed"
        expiry = ""
        if last.passed and last.expires_on < timezone.localdate(at):
            expiry = f"; it expired on {day_label(last.expires_on)}"
        sentences.append(
            f"Last attempt at {module.title} (version {last.module_version.version}): "
            f"{result}{score} on {day_label(last.completed_on)}{expiry}."
        )
    return " ".join(sentences)


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
            f"{person_name(user)}'s account is inactive: authority goes only to active people."
        )
    missing = _missing_training(user, level, at=training_at)
    if missing:
        raise NotAllowed(
            f"{person_name(user)} does not have the training {level.name} requires current on "
            f"{timezone.localdate(training_at):%Y-%m-%d}: "
            f"{', '.join(module.title for module in missing)}. "
            + _last_attempts(user, missing, at=training_at)
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
            f"This grant was revoked on {moment_label(grant.revoked_at)}; it cannot be {verb}. "
            "Make a new grant instead."
        )
    if grant.valid_until is not None and grant.valid_until <= now:
        raise InvalidInput(
            f"This grant expired on {moment_label(grant.valid_until)}; it cannot be {verb}. "
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
        # Judged after the save: the grant's history row is the record the rule reads.
        sync_authority_permissions(user=user)
        schedule_sync(grant, now=now)
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
                "The new end must be later than the current one "
                f"({moment_label(grant.valid_until)})."
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
        sync_authority_permissions(user=grant.user)
        schedule_sync(grant, now=now)
    return grant


def revoke_grant(*, revoker, grant: AuthorityGrant, reason: str) -> AuthorityGrant:
    """End a grant at once: revoked now, by whom, and why.

    Rules: a reason; the revoker manages the grant's scope (superusers manage all); a grant
    already revoked or expired is refused. The holder's guardian permissions follow at once,
    and so do their claims: each live claim on a case they may no longer decide is released
    (case history and a "case.claim_released" event), so nobody's case waits for a lease.
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
        sync_authority_permissions(user=grant.user)
        release_claims_beyond_authority(
            user_ids=[grant.user_id],
            at=timezone.now(),
            actor=Actor.for_user(revoker),
            history_user=revoker,
            why=f"authority revoked by {person_name(revoker)}: {reason}",
        )
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
    if not manager.is_active or not is_manager(manager):
        raise InvalidInput(
            f"{person_name(manager)} is not an active member of the {MANAGER} role: add them to "
            "it first."
        )
    if manager.has_perm(f"oversight.{codename}", scope) and not manager.is_superuser:
        raise InvalidInput(f"{person_name(manager)} already manages authority on {scope}.")
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
            raise InvalidInput(f"{person_name(manager)} does not manage authority on {scope}.")
        append_event(
            actor=Actor.for_user(assigned_by),
            action="manager.unassigned",
            obj=scope,
            payload={"manager": manager.get_username(), "scope": str(scope)},
        )
