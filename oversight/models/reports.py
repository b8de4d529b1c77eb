"""PDF evidence reports: the request (a work item) and the issued report (insert-only evidence).

A request is queued, rendered by a task and ends done or failed; it changes as it runs (status,
progress), so it is plain work-tracking with its steps in the audit ledger, not history. The
issued report is the evidence: the exact PDF bytes handed out, their SHA-256 and the ledger head
they cover. It is written once and never changed or deleted, so anyone holding a copy can check
it against the stored bytes (`manage.py verify_report`).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from oversight.models.gate import ImmutableRecordError


class ReportKind(models.TextChoices):
    OVERSIGHT = "oversight", "Oversight report (AI system, period)"
    AUTHORITY = "authority", "Authority register"
    LITERACY = "literacy", "AI-literacy register"
    DOSSIER = "dossier", "Case dossier"
    INCIDENT = "incident", "Serious incident report"
    GO_LIVE = "go_live", "Go-live evaluation"


class RequestedVia(models.TextChoices):
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Command line"
    SCHEDULE = "schedule", "Schedule"
    SIGN_OFF = "sign_off", "Go-live sign-off"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReportRequest(models.Model):
    """Someone (or the monthly schedule) asked for a report; a task renders it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="The report's parameters as validated (dates ISO, AI system by slug).",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="report_requests",
        help_text="Empty when the command line or the monthly schedule asked.",
    )
    requested_via = models.CharField(
        max_length=16, choices=RequestedVia.choices, default=RequestedVia.ADMIN
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Percent done, 0–100."
    )
    progress_message = models.CharField(
        max_length=200, blank=True, help_text="What the renderer is doing now."
    )
    report_id = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="The id the issued report gets; printed in its footer before it is stored.",
    )
    error = models.TextField(blank=True, help_text="Why generation failed, fit to show a person.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker took this request (1 unless one stopped)."
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: when the worker's hold lapses and the sweep may retry it.",
    )

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} requested {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ReportStatus.DONE, ReportStatus.FAILED)


class IssuedReport(models.Model):
    """A generated PDF exactly as handed out, with what it covers. Insert-only.

    `id` is the request's `report_id`, so the footer can print it before this row exists.
    `ledger_sequence`/`ledger_hash` name the audit ledger head the report's figures were read
    at; `data_sha256` fingerprints the data behind the figures, independent of the layout.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    request = models.OneToOneField(
        ReportRequest, on_delete=models.PROTECT, related_name="issued_report"
    )
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    params = models.JSONField(
        default=dict, blank=True, help_text="The parameters it was made with."
    )
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the command line or the monthly schedule asked.",
    )
    generated_at = models.DateTimeField(help_text="The moment printed in the report.")
    content = models.BinaryField(help_text="The PDF bytes exactly as issued.")
    size = models.PositiveIntegerField(help_text="Bytes.")
    sha256 = models.CharField(
        max_length=64,
        unique=True,
        help_text="SHA-256 of the PDF bytes, hex: how a copy is checked.",
    )
    page_count = models.PositiveIntegerField()
    data_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of the data the report's figures were computed from."
    )
    ledger_sequence = models.PositiveBigIntegerField(
        help_text="The audit ledger head (sequence) the report covers."
    )
    ledger_hash = models.CharField(max_length=64, help_text="Hash of that ledger head.")

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.subtitle})" if self.subtitle else self.title

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Issued reports are evidence and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Issued reports are evidence and cannot be deleted.")
