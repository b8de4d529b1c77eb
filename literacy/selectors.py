"""Read-side queries for AI literacy, shared by the admin, CSV exports and PDF reports."""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.utils import timezone

from literacy.models import TrainingRequirement
from literacy.services.status import training_status_by_user
from oversight.models import AISystem, AuthorityGrant


@dataclass
class RegisterRow:
    """One person: their roles, the AI systems they oversee, and each required item's status."""

    user: object
    roles: list[str]
    ai_systems: list[str]
    statuses: list

    @property
    def all_current(self) -> bool:
        return all(status.is_current for status in self.statuses)


@dataclass
class Coverage:
    """How many of the people overseeing an AI system hold all their required training."""

    ai_system: AISystem
    overseers: int
    fully_trained: int

    @property
    def share(self) -> float | None:
        return self.fully_trained / self.overseers if self.overseers else None


@dataclass
class LiteracyRegister:
    at: datetime.datetime
    rows: list[RegisterRow] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)


def literacy_register(
    *, at: datetime.datetime | None = None, ai_system=None, group=None, expiring_within_days=30
) -> LiteracyRegister:
    """The AI-literacy register at `at`: per person the required modules (and briefings) with
    their status, and per AI system the share of its overseers with all of it current.

    People listed: active people who are required to hold training (by a grant's level or a
    role) or who oversee an AI system (an in-force grant on it or one of its journeys).
    `ai_system` keeps its overseers only; `group` keeps members of that role only. Coverage
    counts the overseers of each AI system (of the one asked for, if any) among the people
    listed. A fixed number of queries, however many people, modules and systems.
    """
    at = at or timezone.now()
    in_force = (
        Q(valid_from__lte=at)
        & (Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
    )
    grants = AuthorityGrant.objects.filter(in_force, user__is_active=True).values_list(
        "user_id", "ai_system_id", "journey__ai_system_id"
    )
    systems_of: dict = {}
    for user_id, system_id, journey_system_id in grants:
        systems_of.setdefault(user_id, set()).add(system_id or journey_system_id)
    required_groups = TrainingRequirement.objects.filter(group__isnull=False).values("group_id")
    not_ended = (Q(valid_until__isnull=True) | Q(valid_until__gt=at)) & (
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at)
    )
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(pk__in=systems_of.keys())
            | Q(groups__in=required_groups)
            | Q(pk__in=AuthorityGrant.objects.filter(not_ended).values("user_id"))
        )
    )
    if group is not None:
        people = people.filter(groups=group)
    if ai_system is not None:
        people = people.filter(
            pk__in=[uid for uid, systems in systems_of.items() if ai_system.pk in systems]
        )
    people = list(
        people.distinct()
        .order_by("username")
        .prefetch_related(Prefetch("groups", to_attr="role_list"))
    )
    statuses = training_status_by_user(
        [user.pk for user in people], at=at, expiring_within_days=expiring_within_days
    )
    all_systems = list(AISystem.objects.order_by("name"))
    names = {system.pk: system.name for system in all_systems}
    systems = [s for s in all_systems if ai_system is None or s.pk == ai_system.pk]
    register = LiteracyRegister(at=at)
    for user in people:
        register.rows.append(
            RegisterRow(
                user=user,
                roles=sorted(role.name for role in user.role_list),
                ai_systems=sorted(names[system_id] for system_id in systems_of.get(user.pk, ())),
                statuses=statuses.get(user.pk, []),
            )
        )
    for system in systems:
        overseers = [row for row in register.rows if system.pk in systems_of.get(row.user.pk, ())]
        register.coverage.append(
            Coverage(
                ai_system=system,
                overseers=len(overseers),
                fully_trained=sum(row.all_current for row in overseers),
            )
        )
    return register
