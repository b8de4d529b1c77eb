"""E-mail reminders before each incident's reporting deadline, and once when it has passed.

Who is told: the active compliance officers and the active managers of the incident's AI
system (those holding `manage_authority_ai_system` on it), at their e-mail addresses. When:
at each of `settings.INCIDENT_REMINDER_HOURS` hours before the deadline, and at the deadline
itself (threshold 0: overdue). Each (incident, threshold, deadline) is sent once, recorded in
`IncidentReminder` in the transaction that sends it; a deadline moved with a reason gets its
reminders afresh. An incident first seen inside several thresholds gets one e-mail recording
all of them. The task runs hourly and is safe to run again.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from audit.local_time import local_time
from audit.services.ledger import Actor, append_event
from oversight.models import AISystemUserObjectPermission, Incident, IncidentReminder
from oversight.models.incidents import OPEN_STATES
from oversight.roles import COMPLIANCE_OFFICER, MANAGER
from oversight.services.incidents.deadlines import time_left_words

MANAGE_AI_SYSTEM = "manage_authority_ai_system"
REMINDER_ACTOR = "incident reminders"


def thresholds() -> list[int]:
    """Hours before the deadline, largest first, ending with 0 (the deadline has passed)."""
    hours = {int(value) for value in settings.INCIDENT_REMINDER_HOURS if int(value) > 0}
    return [*sorted(hours, reverse=True), 0]


def recipients_for(incident: Incident) -> list[str]:
    """Active compliance officers and managers of the incident's AI system, by e-mail."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    officers = users.filter(groups__name=COMPLIANCE_OFFICER).values_list("email", flat=True)
    managers = AISystemUserObjectPermission.objects.filter(
        permission__codename=MANAGE_AI_SYSTEM,
        content_object_id=incident.ai_system_id,
        user__is_active=True,
        user__groups__name=MANAGER,
    ).values_list("user__email", flat=True)
    return sorted({*officers, *managers} - {""})


def _message(incident: Incident, now: datetime.datetime, recipients: list[str]) -> EmailMessage:
    overdue = now > incident.deadline
    left = time_left_words(incident.deadline, now)
    subject = (
        f"Overdue: report serious incident {incident.pk} to the authority"
        if overdue
        else f"Serious incident {incident.pk}: report due in {left.removesuffix(' left')}"
    )
    body = (
        f"Serious incident {incident.pk}: {incident.title}\n"
        f"AI system: {incident.ai_system.name}\n"
        f"Class: {incident.get_incident_class_display()}\n"
        f"State: {incident.get_state_display()}\n"
        f"Became aware: {local_time(incident.became_aware_at)}\n"
        f"Deadline to report to the authority: {local_time(incident.deadline)} ({left})\n"
        + (
            f"The deadline was moved: {incident.deadline_reason}\n"
            if incident.deadline_reason
            else ""
        )
        + "\nArt. 73 of the EU AI Act: the report is due at the latest by the deadline. Record "
        "each step (provider told, authority told with its reference) in the incident register.\n"
    )
    return EmailMessage(subject=subject, body=body, to=recipients)


def send_incident_reminders(*, now: datetime.datetime | None = None) -> int:
    """Send the reminders due now; returns how many e-mails went out."""
    now = now or timezone.now()
    steps = thresholds()
    due = list(
        Incident.objects.filter(
            state__in=OPEN_STATES,
            deadline__lte=now + datetime.timedelta(hours=steps[0]),
        ).select_related("ai_system")
    )
    if not due:
        return 0
    sent_before = set(
        IncidentReminder.objects.filter(incident__in=due).values_list(
            "incident_id", "threshold_hours", "deadline"
        )
    )
    sent = 0
    with transaction.atomic():
        for incident in due:
            hours_left = (incident.deadline - now).total_seconds() / 3600
            crossed = [t for t in steps if hours_left <= t]
            new = [t for t in crossed if (incident.pk, t, incident.deadline) not in sent_before]
            if not new:
                continue
            recipients = recipients_for(incident)
            for threshold in new:
                IncidentReminder.objects.create(
                    incident=incident,
                    threshold_hours=threshold,
                    deadline=incident.deadline,
                    sent_at=now,
                    recipients=recipients,
                )
            if recipients:
                _message(incident, now, recipients).send()
                sent += 1
            append_event(
                actor=Actor.system(REMINDER_ACTOR),
                action="incident.reminder_sent",
                obj=incident,
                payload={
                    "thresholds": new,
                    "deadline": incident.deadline,
                    "recipients": len(recipients),
                },
            )
    return sent
