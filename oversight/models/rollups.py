"""Daily summaries of gate evaluations and decisions, for figures over long periods.

Derived tables, not evidence: every row can be recomputed from the gate evaluations, the
decisions, the cases and the outcomes at any time (`oversight.services.rollups`,
`oversight.services.day_summaries`), which stay the record. Days are UTC days, as the metrics'.
"""

from django.db import models

from oversight.models.judgement import JudgementPoint
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
    decisions_until = models.DateField(
        null=True, blank=True, help_text="Every UTC day before it has its DecisionDay rows."
    )
    outcomes_until = models.DateField(
        null=True, blank=True, help_text="Every UTC day before it has its OutcomeDay rows."
    )
    decided_cases_until = models.DateField(
        null=True, blank=True, help_text="Every UTC day before it has its DecidedCaseDay rows."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=1), name="gate_rollup_singleton")
        ]

    def __str__(self) -> str:
        return f"Gate days summarised until {self.complete_until}"


class DecisionDay(models.Model):
    """The decision figures of one journey on one closed UTC day (`judgement_point` empty), or
    of one of its judgement points (a case with two points counts for both)."""

    day = models.DateField()
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+")
    judgement_point = models.ForeignKey(
        JudgementPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    live_decisions = models.PositiveIntegerField(default=0)
    cases_judged = models.PositiveIntegerField(default=0)
    overrides = models.PositiveIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)
    four_eyes_disagreements = models.PositiveIntegerField(default=0)
    sample_audits = models.PositiveIntegerField(default=0)
    audit_disagreements = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "journey"]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.journey_id} {self.judgement_point_id or ''}: decisions"


class StaleDecisionDay(models.Model):
    """A summarised day whose DecisionDay rows may no longer match the decisions (a decision
    written late, a case escalated after its decisions were summarised). The metrics count such
    a day from the decisions until the quarter-hourly task summarises it again and deletes the
    marks it read (one row per change, so a change made meanwhile keeps its own mark)."""

    day = models.DateField(db_index=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.day} (to summarise again)"


class OutcomeDay(models.Model):
    """The outcomes reported on one closed UTC day for one journey, route (as customer effort
    by route classifies it; empty: none of the three) and customer effort (empty: not given)."""

    day = models.DateField()
    journey = models.ForeignKey(
        Journey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    route = models.CharField(max_length=16, blank=True)
    customer_effort = models.PositiveSmallIntegerField(null=True, blank=True)
    outcomes = models.PositiveIntegerField(default=0)
    repeat_contact_answers = models.PositiveIntegerField(default=0)
    repeat_contacts = models.PositiveIntegerField(default=0)
    reversal_answers = models.PositiveIntegerField(default=0)
    reversals = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "journey"]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.journey_id} {self.route}: {self.outcomes} outcomes"


class StaleOutcomeDay(models.Model):
    """A summarised day whose OutcomeDay rows may no longer match the outcomes (an outcome
    reported or answered late, a case decided or overridden after its outcome's day was
    summarised); as StaleDecisionDay."""

    day = models.DateField(db_index=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.day} (to summarise again)"


class DecidedCaseDay(models.Model):
    """The cases of one journey decided on one closed UTC day, per AI confidence band, and how
    many of them a person overrode (calibration by confidence)."""

    day = models.DateField()
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+")
    confidence_band = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="floor(confidence x 10): 0-9, and 10 for confidence 1.0; empty: no confidence.",
    )
    cases = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(
        default=0, help_text="Of them, cases with an overriding decision."
    )

    class Meta:
        ordering = ["day", "journey"]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.journey_id} band {self.confidence_band}: {self.cases} cases"


class StaleDecidedCaseDay(models.Model):
    """A summarised day whose DecidedCaseDay rows may no longer match the cases (a case decided
    on it changed afterwards, an overriding decision came later); as StaleDecisionDay."""

    day = models.DateField(db_index=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.day} (to summarise again)"
