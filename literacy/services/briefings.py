"""Publishing system briefings and acknowledging them."""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from literacy.models import BriefingAcknowledgement, SystemBriefing
from oversight.exceptions import InvalidInput, NotAllowed, StaleState

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
        from oversight.models import AuthorityGrant
        from oversight.services.authority import reconcile_authority

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
        from oversight.services.authority import sync_authority_permissions

        sync_authority_permissions(user=user)
    return acknowledgement


def unacknowledged_briefings(grants, *, at: datetime.datetime) -> dict:
    """{grant id: briefing} for grants whose level requires the briefing of their AI system and
    whose holder has not acknowledged its version in force at `at`. Three queries for any
    number of grants; a system with no briefing published yet asks for nothing.

    Grants need `journey` loaded (select_related) when their scope is a journey.
    """
    from literacy.models import BriefingRequirement

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
