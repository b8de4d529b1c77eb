"""Whether a person's training is current, at any moment (for authority and registers)."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Max, Q
from django.utils import timezone

from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    TrainingCompletion,
    TrainingModule,
    TrainingModuleVersion,
    TrainingRequirement,
)
from oversight.models import AISystem, AuthorityGrant


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


# Per-person standing ----------------------------------------------------------------------------

CURRENT = "current"
EXPIRING = "expiring"
EXPIRED = "expired"
MISSING = "missing"


@dataclass(frozen=True)
class ModuleStatus:
    """One module a person must hold, where they stand on it, and the completion behind that.

    `completion` is the counting completion that expires last (None when `missing`);
    `required_by` names the authority levels and roles that require the module; `detail`
    says why a module is missing when an older version no longer counts.
    """

    module: TrainingModule
    state: str
    completion: TrainingCompletion | None
    required_by: tuple[str, ...]
    detail: str = ""

    @property
    def title(self) -> str:
        return self.module.title

    @property
    def is_current(self) -> bool:
        """Current or expiring: either way it still counts on the day asked about."""
        return self.state in (CURRENT, EXPIRING)

    @property
    def expires_on(self) -> datetime.date | None:
        return self.completion.expires_on if self.completion else None


def _requalify_from(day: datetime.date, module_ids=None) -> dict:
    """{module id: lowest version that still counts on `day`}. One query."""
    versions = TrainingModuleVersion.objects.filter(
        requires_requalification=True, published_on__lte=day
    )
    if module_ids is not None:
        versions = versions.filter(module_id__in=module_ids)
    return dict(
        versions.values("module_id")
        .annotate(latest=Max("version"))
        .values_list("module_id", "latest")
    )


def _holdings(user_ids, *, at: datetime.datetime) -> tuple[dict, dict]:
    """({user id: level ids}, {user id: group ids}) of the grants and roles that require
    training. Two queries. Grants count unless ended or revoked by `at`: in force or starting
    later, effective or not (missing training is exactly what makes a grant ineffective)."""
    levels_of: dict = {}
    for user_id, level_id in (
        AuthorityGrant.objects.filter(user_id__in=user_ids)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .values_list("user_id", "level_id")
        .distinct()
    ):
        levels_of.setdefault(user_id, set()).add(level_id)
    groups_of: dict = {}
    user_groups = get_user_model().groups.through.objects.filter(user_id__in=user_ids)
    for user_id, group_id in user_groups.values_list("user_id", "group_id"):
        groups_of.setdefault(user_id, set()).add(group_id)
    return levels_of, groups_of


def _merge(user_ids, holders_of: list[tuple[dict, dict]]) -> dict:
    """{user id: {item id: holder names}} from (holdings, {holder id: {item id: names}}) pairs."""
    required: dict = {}
    for user_id in user_ids:
        items: dict = {}
        for holdings, by_holder in holders_of:
            for holder_id in holdings.get(user_id, ()):
                for item_id, names in by_holder.get(holder_id, {}).items():
                    items.setdefault(item_id, set()).update(names)
        if items:
            required[user_id] = items
    return required


def _module_requirements(user_ids, levels_of: dict, groups_of: dict) -> dict:
    """{user id: {module id: holder names}} through `TrainingRequirement`. One query."""
    level_ids = set().union(*levels_of.values()) if levels_of else set()
    group_ids = set().union(*groups_of.values()) if groups_of else set()
    by_level: dict = {}
    by_group: dict = {}
    for requirement in TrainingRequirement.objects.filter(
        Q(authority_level_id__in=level_ids) | Q(group_id__in=group_ids)
    ).select_related("authority_level", "group"):
        if requirement.authority_level_id:
            target = by_level.setdefault(requirement.authority_level_id, {})
            name = f"level {requirement.authority_level.name}"
        else:
            target = by_group.setdefault(requirement.group_id, {})
            name = f"role {requirement.group.name}"
        target.setdefault(requirement.module_id, set()).add(name)
    return _merge(user_ids, [(levels_of, by_level), (groups_of, by_group)])


def requirements_by_user(user_ids, *, at: datetime.datetime) -> dict:
    """{user id: {module id: set of holder names}}: who must hold which module. Three queries.

    A module is required of a person by each authority level they hold a grant of that has not
    ended or been revoked by `at` (in force, or starting later: effective or not, since missing
    training is exactly what makes a grant ineffective), and by each role (group) they belong
    to, through `TrainingRequirement`.
    """
    user_ids = set(user_ids)
    if not user_ids:
        return {}
    levels_of, groups_of = _holdings(user_ids, at=at)
    return _module_requirements(user_ids, levels_of, groups_of)


@dataclass(frozen=True)
class BriefingStatus:
    """A system briefing a person must have acknowledged (current version), and whether they did.

    Reported by `training_status` next to the modules: `state` is `current` when the newest
    published version is acknowledged, else `missing` (`detail` names an older version
    acknowledged, if any).
    """

    ai_system: AISystem
    state: str
    briefing: SystemBriefing
    acknowledgement: BriefingAcknowledgement | None
    required_by: tuple[str, ...]
    detail: str = ""
    completion = None
    expires_on = None

    @property
    def title(self) -> str:
        return f"Briefing on {self.ai_system.name}"

    @property
    def is_current(self) -> bool:
        return self.state == CURRENT


def _briefing_statuses(user_ids, levels_of: dict, day: datetime.date) -> dict:
    """{user id: [BriefingStatus]} for briefings required through `BriefingRequirement`.

    Three queries. A requirement on a system with no published briefing asks nothing yet.
    """
    level_ids = set().union(*levels_of.values()) if levels_of else set()
    by_level: dict = {}
    systems: dict = {}
    for requirement in BriefingRequirement.objects.filter(
        authority_level_id__in=level_ids
    ).select_related("authority_level", "ai_system"):
        by_level.setdefault(requirement.authority_level_id, {}).setdefault(
            requirement.ai_system_id, set()
        ).add(f"level {requirement.authority_level.name}")
        systems[requirement.ai_system_id] = requirement.ai_system
    required = _merge(user_ids, [(levels_of, by_level)])
    if not required:
        return {}
    latest: dict = {}
    for briefing in SystemBriefing.objects.filter(
        ai_system_id__in=systems, published_on__lte=day
    ).order_by("version"):
        latest[briefing.ai_system_id] = briefing
    acknowledged: dict = {}
    for acknowledgement in (
        BriefingAcknowledgement.objects.filter(
            user_id__in=required.keys(),
            briefing__ai_system_id__in=latest.keys(),
            briefing__published_on__lte=day,
            acknowledged_at__date__lte=day,
        )
        .select_related("briefing")
        .order_by("briefing__version")
    ):
        acknowledged[(acknowledgement.user_id, acknowledgement.briefing.ai_system_id)] = (
            acknowledgement
        )
    result: dict = {}
    for user_id, items in required.items():
        for system_id, names in items.items():
            briefing = latest.get(system_id)
            if briefing is None:
                continue
            acknowledgement = acknowledged.get((user_id, system_id))
            detail = ""
            if acknowledgement is not None and acknowledgement.briefing_id != briefing.pk:
                detail = (
                    f"version {acknowledgement.briefing.version} acknowledged; version "
                    f"{briefing.version} needs acknowledging"
                )
                acknowledgement = None
            result.setdefault(user_id, []).append(
                BriefingStatus(
                    ai_system=systems[system_id],
                    state=CURRENT if acknowledgement else MISSING,
                    briefing=briefing,
                    acknowledgement=acknowledgement,
                    required_by=tuple(sorted(names)),
                    detail=detail,
                )
            )
    return result


def _moment_and_day(at) -> tuple[datetime.datetime, datetime.date]:
    if at is None:
        return timezone.now(), timezone.localdate()
    if isinstance(at, datetime.datetime):
        return at, timezone.localdate(at)
    # A day: the grants of that whole day count.
    return timezone.make_aware(datetime.datetime.combine(at, datetime.time.max)), at


def training_status_by_user(
    user_ids, *, at=None, expiring_within_days: int = 30
) -> dict[int, list]:
    """`training_status` for many people at once, in a fixed number of queries (at most nine).

    People required to hold nothing map to an empty list.
    """
    moment, day = _moment_and_day(at)
    user_ids = set(user_ids)
    if not user_ids:
        return {}
    levels_of, groups_of = _holdings(user_ids, at=moment)
    required = _module_requirements(user_ids, levels_of, groups_of)
    briefings = _briefing_statuses(user_ids, levels_of, day)
    module_ids = set().union(*(set(m) for m in required.values())) if required else set()
    modules: dict = {}
    best: dict = {}
    superseded: dict = {}
    requalify_from: dict = {}
    if module_ids:
        modules = {m.id: m for m in TrainingModule.objects.filter(id__in=module_ids)}
        requalify_from = _requalify_from(day, module_ids)
        for completion in (
            TrainingCompletion.objects.filter(
                user_id__in=required.keys(),
                module_version__module_id__in=module_ids,
                passed=True,
                completed_on__lte=day,
            )
            .select_related("module_version")
            .order_by("expires_on", "completed_on", "recorded_at")
        ):
            key = (completion.user_id, completion.module_version.module_id)
            if completion.module_version.version < requalify_from.get(key[1], 0):
                superseded[key] = completion
            else:
                best[key] = completion  # ordered by expiry: the last one wins
    horizon = day + datetime.timedelta(days=expiring_within_days)
    result: dict = {}
    for user_id in user_ids:
        statuses = []
        for module_id, names in required.get(user_id, {}).items():
            completion = best.get((user_id, module_id))
            detail = ""
            if completion is None:
                state = MISSING
                old = superseded.get((user_id, module_id))
                if old is not None:
                    detail = (
                        f"version {old.module_version.version} completed; version "
                        f"{requalify_from[module_id]} requires re-qualification"
                    )
            elif completion.expires_on <= day:
                state = EXPIRED
            elif completion.expires_on <= horizon:
                state = EXPIRING
            else:
                state = CURRENT
            statuses.append(
                ModuleStatus(
                    module=modules[module_id],
                    state=state,
                    completion=completion,
                    required_by=tuple(sorted(names)),
                    detail=detail,
                )
            )
        statuses.sort(key=lambda status: (status.module.title, str(status.module.id)))
        statuses += sorted(briefings.get(user_id, []), key=lambda status: status.title)
        result[user_id] = statuses
    return result


def training_status(
    user, *, at=None, expiring_within_days: int = 30
) -> list[ModuleStatus | BriefingStatus]:
    """Each module `user` is required to hold, as current, expiring, expired or missing, then
    each system briefing they must have acknowledged, as current or missing.

    Required: modules by the levels of the person's grants (in force or starting later,
    effective or not) and by their roles, through `TrainingRequirement`; briefings by those
    levels through `BriefingRequirement`. A completion counts when passed, dated on or before
    the day, and of a version no older than the newest version published by then that requires
    re-qualification (the rule of `current_module_ids`). Expiring: still current but expiring
    within `expiring_within_days` days. A briefing counts when its newest published version is
    acknowledged. A fixed number of queries, however many modules and briefings.
    """
    return training_status_by_user([user.pk], at=at, expiring_within_days=expiring_within_days)[
        user.pk
    ]
