"""Publishing system briefings and acknowledging them.

Imports point one way: this module calls `oversight.services.authority` to bring permissions in
step; which briefing a grant lacks is decided there (`unacknowledged_briefings`), not here.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from literacy.models import BriefingAcknowledgement, SystemBriefing
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import AuthorityGrant
from oversight.services.authority import reconcile_authority, sync_authority_permissions

TEXTS = {
    "capabilities": "what the system can do",
    "limitations": "its limitations",
    "instructions_for_use": "the instructions for use",
    "stop_procedure": "how to stop it",
}


def latest_briefing(ai_system, *, day: datetime.date | None = None) -> SystemBriefing | None:
    """The newest version of the system's briefing published by `day` (today by default)."""
    day = day or timezone.localdate()
    return (
        SystemBriefing.objects.filter(ai_system=ai_system, published_on__lte=day)
        .order_by("-version")
        .first()
    )


def publish_briefing(
    *,
    ai_system,
    published_by,
    capabilities: str,
    limitations: str,
    instructions_for_use: str,
    stop_procedure: str,
) -> SystemBriefing:
    """Publish the next version of an AI system's briefing, in force from today.

    Rules: the publisher needs the add-briefing permission; every text is required; the version
    number follows the system's last one. Everyone must acknowledge the new version: earlier
    acknowledgements no longer count. Audited as "briefing.published".
    """
    if not published_by.has_perm("literacy.add_systembriefing"):
        raise NotAllowed("You may not publish system briefings.")
    texts = {
        "capabilities": capabilities.strip(),
        "limitations": limitations.strip(),
        "instructions_for_use": instructions_for_use.strip(),
        "stop_procedure": stop_procedure.strip(),
    }
    empty = [TEXTS[name] for name, text in texts.items() if not text]
    if empty:
        raise InvalidInput("A briefing must say " + ", ".join(empty) + ".")
    with transaction.atomic():
        # Lock the system's row so two publishers cannot both take the same version number.
        type(ai_system).objects.select_for_update().filter(pk=ai_system.pk).exists()
        last = SystemBriefing.objects.filter(ai_system=ai_system).aggregate(v=Max("version"))["v"]
        briefing = SystemBriefing(
            ai_system=ai_system,
            version=(last or 0) + 1,
            published_on=timezone.localdate(),
            published_by=published_by,
            **texts,
        )
        briefing._history_user = published_by
        briefing.save()
        append_event(
            actor=Actor.for_user(published_by),
            action="briefing.published",
            obj=briefing,
            payload={"ai_system": str(ai_system), "version": briefing.version, **texts},
        )
        # Holders whose level requires this briefing lose authority until they acknowledge it.
        holders = get_user_model().objects.filter(
            pk__in=AuthorityGrant.objects.filter(
                Q(ai_system=ai_system) | Q(journey__ai_system=ai_system)
            ).values("user_id")
        )
        reconcile_authority(users=list(holders))
    return briefing


def acknowledge_briefing(*, user, briefing: SystemBriefing) -> BriefingAcknowledgement:
    """Record that `user` read and acknowledges this version of a system briefing.

    Rules: people acknowledge for themselves, while active; only the current version (the
    newest published) can be acknowledged, and only once. Audited as "briefing.acknowledged".
    """
    if not user.is_active:
        raise NotAllowed("An inactive account cannot acknowledge briefings.")
    with transaction.atomic():
        current = latest_briefing(briefing.ai_system)
        if current is None or current.pk != briefing.pk:
            if briefing.published_on > timezone.localdate():
                raise InvalidInput(f"{briefing} is not published yet.")
            raise StaleState(
                f"{briefing} has been replaced by version {current.version}: acknowledge that one."
            )
        if BriefingAcknowledgement.objects.filter(user=user, briefing=briefing).exists():
            raise InvalidInput(f"You already acknowledged {briefing}.")
        acknowledgement = BriefingAcknowledgement(
            user=user, briefing=briefing, acknowledged_at=timezone.now()
        )
        acknowledgement._history_user = user
        acknowledgement.save()
        append_event(
            actor=Actor.for_user(user),
            action="briefing.acknowledged",
            obj=acknowledgement,
            payload={"briefing": str(briefing), "version": briefing.version},
        )
        sync_authority_permissions(user=user)
    return acknowledgement
