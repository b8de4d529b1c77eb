"""Explaining a person's authority: each grant and every reason it does or does not count."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from oversight.models import AuthorityGrant
from oversight.services.authority.moment import AuthorityRecord


@dataclass(frozen=True)
class GrantStatus:
    """One grant and whether it gives authority at a moment; if not, every reason why."""

    grant: AuthorityGrant
    reasons: tuple[str, ...]

    @property
    def effective(self) -> bool:
        return not self.reasons


def explain_grants(user, *, at: datetime.datetime | None = None) -> list[GrantStatus]:
    """Every grant of `user`, each with why it does or does not give authority at `at`.

    The rule of `effective_grants` (`moment.AuthorityRecord`): the grant as its history
    recorded it at `at` (in date, not revoked), holder active, each module the level required
    then current (naming the modules not completed, expired, or needing re-qualification), and
    the system briefing required then acknowledged. A fixed number of queries.
    """
    at = at or timezone.now()
    grants = list(
        AuthorityGrant.objects.filter(user=user)
        .select_related("level", "journey__ai_system", "ai_system", "granted_by", "revoked_by")
        .order_by("-valid_from")
    )
    if not grants:
        return []
    record = AuthorityRecord.load(user_ids=[user.pk])
    return [
        GrantStatus(
            grant,
            tuple(shortfall.text for shortfall in record.judge_grant(grant.pk, at).shortfalls),
        )
        for grant in grants
    ]
