"""The serious-incident register (EU AI Act Art. 26(5) and Art. 73, as a deployer).

An incident records what happened, to whom, with which AI system and cases, when the
organisation became aware, and its class, from which the reporting deadline follows. It moves
forward through its states only by the services in `oversight.services.incidents`; every
version is kept in history and every step in the audit ledger. The product may *suggest* an
incident from patterns; a suggestion is not an incident until a person confirms it.
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from audit.history import EvidenceHistory
from oversight.models.cases import Case, Decision, Outcome
from oversight.models.gate import ImmutableRecordError
from oversight.models.guardrails import GuardrailEvaluation
from oversight.models.systems import AISystem


class IncidentClass(models.TextChoices):
    """Art. 73(2)–(4): the class sets how many days the organisation has to report."""

    DEATH = "death", "Death of a person (10 days)"
    WIDESPREAD = (
        "widespread",
        "Widespread infringement or serious disruption of critical infrastructure (2 days)",
    )
    OTHER = "other", "Other serious incident (15 days)"


# Calendar days from awareness to the reporting deadline, per class (Art. 73(2), (3), (4)).
REPORTING_DAYS = {
    IncidentClass.DEATH: 10,
    IncidentClass.WIDESPREAD: 2,
    IncidentClass.OTHER: 15,
}


class IncidentState(models.TextChoices):
    SUGGESTED = "suggested", "Suggested by the product (not yet an incident)"
    DISMISSED = "dismissed", "Suggestion dismissed"
    SUSPECTED = "suspected", "Suspected"
    CONFIRMED = "confirmed", "Confirmed"
    REPORTED_TO_PROVIDER = "reported_to_provider", "Reported to the provider"
    REPORTED_TO_AUTHORITY = "reported_to_authority", "Reported to the authority"
    CLOSED = "closed", "Closed"


# States in which the reporting clock runs and reminders are sent.
OPEN_STATES = (
    IncidentState.SUSPECTED,
    IncidentState.CONFIRMED,
    IncidentState.REPORTED_TO_PROVIDER,
)
# States of a real incident (a suggestion confirmed, or raised by a person).
REGISTER_STATES = (*OPEN_STATES, IncidentState.REPORTED_TO_AUTHORITY, IncidentState.CLOSED)


class IncidentSource(models.TextChoices):
    CASE = "case", "A case"
    DECISION = "decision", "A decision"
    OUTCOME = "outcome", "An outcome (complaint, reversal)"
    GUARDRAIL = "guardrail", "A guardrail breach"
    SUGGESTION = "suggestion", "Suggested by the product from patterns"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name (e.g. Europe/Berlin).")


def _default_time_zone() -> str:
    return settings.INCIDENT_TIME_ZONE or settings.TIME_ZONE


class Incident(models.Model):
    """One serious incident (or a suggestion of one), with its reporting clock.

    `deadline` is computed from `became_aware_at`, `time_zone` and `incident_class` by
    `oversight.services.incidents.deadlines.reporting_deadline`; it moves only through
    `move_deadline`, which records the reason (`deadline_reason`, history, ledger).
    """

    title = models.CharField(max_length=200)
    what_happened = models.TextField()
    affected = models.TextField(help_text="Who was affected: people, groups, how many.")
    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="incidents")
    related_cases = models.ManyToManyField(Case, blank=True, related_name="incidents")
    source = models.CharField(max_length=16, choices=IncidentSource.choices)
    source_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_outcome = models.ForeignKey(
        Outcome, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_guardrail_evaluation = models.ForeignKey(
        GuardrailEvaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    incident_class = models.CharField(
        "class", max_length=16, choices=IncidentClass.choices, default=IncidentClass.OTHER
    )
    state = models.CharField(max_length=24, choices=IncidentState.choices, db_index=True)
    became_aware_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the organisation became aware; the reporting clock starts here.",
    )
    time_zone = models.CharField(
        max_length=64,
        default=_default_time_zone,
        validators=[validate_time_zone],
        help_text="The organisation's zone: the deadline falls at the same local time of day.",
    )
    deadline = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Report to the authority by then."
    )
    deadline_reason = models.TextField(
        blank=True, help_text="Why the deadline was last moved (empty: as computed)."
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for a suggestion by the product until a person confirms it.",
    )
    raised_at = models.DateTimeField(default=timezone.now)
    reported_to_provider_at = models.DateTimeField(null=True, blank=True)
    reported_to_authority_at = models.DateTimeField(null=True, blank=True)
    authority_reference = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="The note of the last state change.")
    history = EvidenceHistory()

    class Meta:
        ordering = [models.F("deadline").asc(nulls_last=True), "-raised_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["suggested", "dismissed"])
                | (Q(became_aware_at__isnull=False) & Q(deadline__isnull=False)),
                name="incident_has_clock",
                violation_error_message="An incident needs the moment of awareness and a deadline.",
            ),
            models.CheckConstraint(
                condition=~Q(state="reported_to_authority")
                | (Q(reported_to_authority_at__isnull=False) & ~Q(authority_reference="")),
                name="incident_authority_report_dated",
                violation_error_message="A report to the authority needs its date and reference.",
            ),
            models.UniqueConstraint(
                fields=["source_outcome"],
                condition=Q(source="suggestion"),
                name="incident_one_suggestion_per_outcome",
            ),
        ]
        indexes = [models.Index(fields=["state", "deadline"])]

    def __str__(self) -> str:
        return f"Incident {self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now=None) -> bool:
        """Open past its deadline: the report to the authority is late."""
        return (
            self.is_open and self.deadline is not None and (now or timezone.now()) > self.deadline
        )

    @property
    def deadline_met(self) -> bool | None:
        """Whether the authority was told by the deadline; None while that is not known yet."""
        if self.reported_to_authority_at is None or self.deadline is None:
            return None
        return self.reported_to_authority_at <= self.deadline


class IncidentReminder(models.Model):
    """One reminder e-mail sent before (or after) an incident's deadline. Insert-only.

    Unique per incident, threshold and deadline: running the task again sends nothing twice,
    and a deadline moved with a reason starts its reminders afresh.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reminders")
    threshold_hours = models.IntegerField(help_text="Hours before the deadline; 0: overdue.")
    deadline = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "threshold_hours", "deadline"],
                name="incident_reminder_once_per_threshold",
            )
        ]

    def __str__(self) -> str:
        return f"Reminder {self.threshold_hours} h before {self.incident}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Incident reminders are evidence and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Incident reminders are evidence and cannot be deleted.")
