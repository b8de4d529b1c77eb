"""Who manages authority on which scope (invariant 4): guardian object permissions held by
members of the Manager role; superusers manage everything."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from guardian.shortcuts import get_objects_for_user

from oversight.models import (
    AISystem,
    AISystemUserObjectPermission,
    Journey,
    JourneyUserObjectPermission,
)
from oversight.roles import MANAGER

MANAGE_JOURNEY = "manage_authority_journey"
MANAGE_AI_SYSTEM = "manage_authority_ai_system"


def is_manager(user) -> bool:
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
    if not is_manager(user):
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
    if not user.is_active or not is_manager(user):
        return AISystem.objects.none()
    return get_objects_for_user(
        user, f"oversight.{MANAGE_AI_SYSTEM}", klass=AISystem, accept_global_perms=False
    )


def journeys_managed_by(user):
    """Journeys on which `user` manages authority, directly or through their AI system."""
    if user.is_active and user.is_superuser:
        return Journey.objects.all()
    if not user.is_active or not is_manager(user):
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
