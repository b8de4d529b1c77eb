"""Reading an AuthorityRecord (oversight.services.authority.moment): the history rows and
facts the moment-exact rule judges from, for many people in a fixed number of queries."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from literacy.models import (
    BriefingAcknowledgement,
    BriefingRequirement,
    SystemBriefing,
    TrainingCompletion,
    TrainingModuleVersion,
    TrainingRequirement,
)
from oversight.models import AuthorityGrant


@dataclass
class Versions:
    """The history rows of one record, oldest first, for as-of look-ups."""

    rows: list = field(default_factory=list)

    def at(self, moment: datetime.datetime):
        """The row as it stood at `moment`, or None (not yet recorded, or deleted by then)."""
        found = None
        for row in self.rows:
            if row.history_date > moment:
                break
            found = row
        if found is None or found.history_type == "-":
            return None
        return found


def versions_by_id(history_rows: Iterable) -> dict:
    by_id: dict = {}
    for row in history_rows:
        by_id.setdefault(row.id, Versions()).rows.append(row)
    return by_id


def load_grants(record, *, user_ids: set, grant_ids: set) -> set:
    """The history of these people's grants (and of these grants, whoever holds them); returns
    every holder found, to read their training and briefings as well."""
    history = (
        AuthorityGrant.history.filter(Q(user_id__in=user_ids) | Q(id__in=grant_ids))
        .select_related("level", "journey", "ai_system", "revoked_by")
        .order_by("history_date", "history_id")
    )
    record.grants = versions_by_id(history)
    for grant_id, versions in record.grants.items():
        holders = {row.user_id for row in versions.rows}
        for user_id in holders:
            record.grants_of.setdefault(user_id, []).append(grant_id)
    return set(record.grants_of)


def load_training(record, user_ids: set) -> None:
    """The training requirements' history, the module versions asking for re-qualification
    and these people's passed completions of the required modules."""
    record.module_requirements = versions_by_id(
        TrainingRequirement.history.filter(authority_level__isnull=False)
        .select_related("module")
        .order_by("history_date", "history_id")
    )
    module_ids = {
        row.module_id for versions in record.module_requirements.values() for row in versions.rows
    }
    if not module_ids:
        return
    record.module_titles = {
        row.module_id: row.module.title
        for versions in record.module_requirements.values()
        for row in versions.rows
    }
    for module_id, published_on, version in TrainingModuleVersion.objects.filter(
        module_id__in=module_ids, requires_requalification=True
    ).values_list("module_id", "published_on", "version"):
        record.requalifying.setdefault(module_id, []).append((published_on, version))
    for row in (
        TrainingCompletion.objects.filter(
            user_id__in=user_ids, passed=True, module_version__module_id__in=module_ids
        )
        .order_by("completed_on", "recorded_at")
        .values_list(
            "user_id",
            "module_version__module_id",
            "module_version__version",
            "completed_on",
            "expires_on",
        )
    ):
        record.completions.setdefault(row[0], []).append(row[1:])


def load_briefings(record, user_ids: set) -> None:
    """The briefing requirements' history, the briefings of the AI systems they name and
    these people's acknowledgements."""
    record.briefing_requirements = versions_by_id(
        BriefingRequirement.history.order_by("history_date", "history_id")
    )
    system_ids = {
        row.ai_system_id
        for versions in record.briefing_requirements.values()
        for row in versions.rows
    }
    if not system_ids:
        return
    for briefing in (
        SystemBriefing.objects.filter(ai_system_id__in=system_ids)
        .select_related("ai_system")
        .order_by("version")
    ):
        record.briefings.setdefault(briefing.ai_system_id, []).append(briefing)
    briefing_ids = [b.pk for briefings in record.briefings.values() for b in briefings]
    if briefing_ids and user_ids:
        record.acknowledged = {
            (user_id, briefing_id): at
            for user_id, briefing_id, at in BriefingAcknowledgement.objects.filter(
                user_id__in=user_ids, briefing_id__in=briefing_ids
            ).values_list("user_id", "briefing_id", "acknowledged_at")
        }
