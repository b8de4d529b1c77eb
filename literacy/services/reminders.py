"""Reminding people, and their managers, that required training expires soon."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from literacy.models import TrainingReminder, TrainingRequirement
from literacy.services.status import EXPIRING, training_status_by_user
from oversight.models import (
    AISystemUserObjectPermission,
    AuthorityGrant,
    JourneyUserObjectPermission,
)
from oversight.roles import MANAGER

MANAGE_AI_SYSTEM = "manage_authority_ai_system"
MANAGE_JOURNEY = "manage_authority_journey"


def _people_with_requirements(at: datetime.datetime) -> set:
    """Active people holding a not-ended grant of a level, or a role, that requires training."""
    levels = TrainingRequirement.objects.filter(authority_level__isnull=False).values(
        "authority_level_id"
    )
    groups = TrainingRequirement.objects.filter(group__isnull=False).values("group_id")
    return set(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(
                pk__in=AuthorityGrant.objects.filter(level_id__in=levels)
                .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
                .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
                .values("user_id")
            )
            | Q(groups__in=groups)
        )
        .values_list("pk", flat=True)
    )


def managers_by_user(user_ids, *, at: datetime.datetime) -> dict:
    """{user id: {manager e-mail addresses}}: active members of the Manager role who manage an AI
    system (or one of its journeys) on which the person holds a grant. Three queries."""
    grants = (
        AuthorityGrant.objects.filter(user_id__in=user_ids)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .values_list("user_id", "ai_system_id", "journey_id", "journey__ai_system_id")
    )
    systems_of: dict = {}
    journeys_of: dict = {}
    for user_id, system_id, journey_id, journey_system_id in grants:
        systems_of.setdefault(user_id, set()).add(system_id or journey_system_id)
        if journey_id:
            journeys_of.setdefault(user_id, set()).add(journey_id)
    manager = {"user__is_active": True, "user__groups__name": MANAGER}
    by_system: dict = {}
    for system_id, email in AISystemUserObjectPermission.objects.filter(
        permission__codename=MANAGE_AI_SYSTEM,
        content_object_id__in=set().union(*systems_of.values()) if systems_of else set(),
        **manager,
    ).values_list("content_object_id", "user__email"):
        by_system.setdefault(system_id, set()).add(email)
    by_journey: dict = {}
    for journey_id, email in JourneyUserObjectPermission.objects.filter(
        permission__codename=MANAGE_JOURNEY,
        content_object_id__in=set().union(*journeys_of.values()) if journeys_of else set(),
        **manager,
    ).values_list("content_object_id", "user__email"):
        by_journey.setdefault(journey_id, set()).add(email)
    managers: dict = {}
    for user_id in user_ids:
        emails = set()
        for system_id in systems_of.get(user_id, ()):
            emails |= by_system.get(system_id, set())
        for journey_id in journeys_of.get(user_id, ()):
            emails |= by_journey.get(journey_id, set())
        emails.discard("")
        if emails:
            managers[user_id] = emails
    return managers


def _message(user, due: list, managers: set) -> EmailMessage:
    name = user.get_full_name() or user.get_username()
    lines = [
        f"- {status.module.title}: expires on {status.expires_on:%Y-%m-%d} "
        f"(in {days} day{'s' if days != 1 else ''})"
        for status, days in due
    ]
    body = (
        f"Hello {name},\n\n"
        "This AI-literacy training you are required to hold expires soon:\n\n"
        + "\n".join(lines)
        + "\n\nPlease renew it before then: authority that requires it lapses the day it "
        "expires, and your cases go to others.\n"
    )
    if managers:
        body += "\nYour managers receive a copy of this reminder.\n"
    return EmailMessage(
        subject=f"Training expiring: {', '.join(status.module.title for status, _ in due)}",
        body=body,
        to=[user.email] if user.email else [],
        cc=sorted(managers),
    )


def send_training_reminders(*, now: datetime.datetime | None = None) -> int:
    """E-mail each person whose required training expires within a threshold, once per
    threshold per completion, copying their managers; returns how many e-mails went out.

    Thresholds are `settings.TRAINING_REMINDER_DAYS` (days before expiry). A completion first
    seen inside several thresholds gets one e-mail that records all of them. Each reminder is
    recorded (`TrainingReminder`, unique per completion and threshold) in the same transaction
    that sends it, so running again (the same day or the next) sends nothing twice. One audit
    event summarises a run that sent anything. Safe to run again.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    thresholds = sorted({int(days) for days in settings.TRAINING_REMINDER_DAYS}, reverse=True)
    if not thresholds:
        return 0
    statuses = training_status_by_user(
        _people_with_requirements(now), at=now, expiring_within_days=thresholds[0]
    )
    expiring = [
        (user_id, status)
        for user_id, user_statuses in statuses.items()
        for status in user_statuses
        if status.state == EXPIRING
    ]
    sent_before = set(
        TrainingReminder.objects.filter(
            completion_id__in={status.completion.pk for _, status in expiring}
        ).values_list("completion_id", "threshold_days")
    )
    due_by_user: dict = {}
    for user_id, status in expiring:
        days_left = (status.expires_on - day).days
        crossed = [t for t in thresholds if days_left <= t]
        new = [t for t in crossed if (status.completion.pk, t) not in sent_before]
        if new:
            due_by_user.setdefault(user_id, []).append((status, days_left, new))
    if not due_by_user:
        return 0
    users = get_user_model().objects.in_bulk(due_by_user.keys())
    managers = managers_by_user(due_by_user.keys(), at=now)
    sent = 0
    with transaction.atomic():
        for user_id, due in sorted(due_by_user.items()):
            message = _message(
                users[user_id],
                [(status, days) for status, days, _ in due],
                managers.get(user_id) or set(),
            )
            recipients = [*message.to, *message.cc]
            TrainingReminder.objects.bulk_create(
                [
                    TrainingReminder(
                        completion=status.completion,
                        threshold_days=threshold,
                        sent_at=now,
                        recipients=recipients,
                    )
                    for status, _, new in due
                    for threshold in new
                ]
            )
            if recipients:
                message.send()
                sent += 1
        append_event(
            actor=Actor.system("training_reminders"),
            action="training.reminders_sent",
            object_type=TrainingReminder._meta.label_lower,
            payload={
                "emails": sent,
                "people": len(due_by_user),
                "completions": sum(len(due) for due in due_by_user.values()),
            },
        )
    return sent
