"""Go-live sign-offs: a manager's switch of a journey from shadow to live, with its evidence."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from audit.history import EvidenceHistory
from oversight.models.gate import ImmutableRecordError
from oversight.models.systems import Journey


class GoLiveSignOff(models.Model):
    """Who switched a journey live, when, on what rule, and the figures it rested on.

    Written once by `sign_off_go_live` and never changed: the figures are those measured at the
    moment of the sign-off (agreement, its 95 % Wilson interval, the count, per confidence band
    and per judgement point), and `rule_versions` names the judgement point versions in force,
    so a later rule change never rewrites what was signed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="go_live_sign_offs")
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(default=timezone.now, db_index=True)
    target_agreement = models.DecimalField(
        max_digits=5, decimal_places=4, help_text="The agreement the manager required (0–1)."
    )
    min_decisions = models.PositiveIntegerField(
        help_text="The number of shadow decisions the manager required at least."
    )
    note = models.TextField(blank=True)
    shadow_since = models.DateTimeField(
        null=True, blank=True, help_text="Start of the shadow period measured (empty: all)."
    )
    decisions = models.PositiveIntegerField(help_text="Shadow cases decided in the period.")
    agreed = models.PositiveIntegerField(
        help_text="Of those, cases whose final decision approved the AI's proposal."
    )
    agreement = models.FloatField()
    interval_low = models.FloatField(help_text="95 % Wilson interval, lower bound.")
    interval_high = models.FloatField(help_text="95 % Wilson interval, upper bound.")
    by_band = models.JSONField(default=list, blank=True)
    by_point = models.JSONField(default=list, blank=True)
    rule_versions = models.JSONField(
        default=list, blank=True, help_text="The journey's active judgement points and versions."
    )
    history = EvidenceHistory()

    class Meta:
        ordering = ["-signed_off_at"]
        verbose_name = "go-live sign-off"
        constraints = [
            models.CheckConstraint(
                condition=Q(agreed__lte=models.F("decisions")),
                name="golive_agreed_within_decisions",
            ),
        ]

    def __str__(self) -> str:
        return f"Go-live of {self.journey} on {self.signed_off_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("Go-live sign-offs are evidence and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Go-live sign-offs are evidence and cannot be deleted.")
