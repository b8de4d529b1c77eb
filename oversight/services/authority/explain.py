"""Explaining a person's authority: each grant and every reason it does or does not count."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from literacy.models import TrainingCompletion, TrainingModule
from literacy.services.status import current_module_ids
from oversight.models import (
    AuthorityGrant,
)
from oversight.services.authority.effective import (
    required_modules_by_level,
    unacknowledged_briefings,
)
from oversight.services.authority.wording import moment_label, person_name


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
    required = required_modules_by_level()
    current = current_module_ids(user, at=at) if required else set()
    missing_anywhere = set().union(*(required.get(g.level_id, set()) for g in grants)) - current
    gaps = _training_gaps(user, missing_anywhere, timezone.localdate(at))
    briefings = unacknowledged_briefings(grants, at=at)
    statuses = []
    for grant in grants:
        reasons = []
        if grant.valid_from > at:
            reasons.append(f"not yet in force: starts {moment_label(grant.valid_from)}")
        if grant.valid_until is not None and grant.valid_until <= at:
            reasons.append(f"out of date: ended {moment_label(grant.valid_until)}")
        if grant.revoked_at is not None and grant.revoked_at <= at:
            by = person_name(grant.revoked_by) if grant.revoked_by else "the product"
            reasons.append(
                f"revoked {moment_label(grant.revoked_at)} by {by}: {grant.revocation_reason}"
            )
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
