"""Daily summaries of gate evaluations, for figures over long periods.

A derived table, not evidence: every row can be recomputed from the gate evaluations at any
time (`oversight.services.rollups`), which stay the record. Days are UTC days, as the metrics'.
"""

from django.db import models

from oversight.models.systems import AISystem, Journey


class GateDay(models.Model):
    """The gate calls of one journey on one closed UTC day."""

    day = models.DateField()
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+")
    ai_system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="+")
    gate_calls = models.PositiveIntegerField()
    routed_to_humans = models.PositiveIntegerField(
        help_text="Calls routed to a person (blocked calls not included)."
    )
    blocked = models.PositiveIntegerField(default=0, help_text="Calls the gate blocked.")

    class Meta:
        ordering = ["day", "journey"]
        constraints = [
            models.UniqueConstraint(fields=["day", "journey"], name="gate_day_once_per_journey")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.journey_id}: {self.gate_calls} calls"


class GateRollup(models.Model):
    """How far the daily summaries reach: every UTC day before `complete_until` is summarised
    (a day without calls has no row). One row."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    complete_until = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=1), name="gate_rollup_singleton")
        ]

    def __str__(self) -> str:
        return f"Gate days summarised until {self.complete_until}"
