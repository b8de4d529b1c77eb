"""Judgement points: where, in a journey, a human must step in, and the trigger that says when."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from audit.history import EvidenceHistory
from oversight.models.systems import RATE_VALIDATORS, Journey
from oversight.models.validators import validate_option_list

signal_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,63}$",
    "Use lower-case letters, digits and underscores, starting with a letter.",
)


class Combinator(models.TextChoices):
    ALL = "all", "All conditions (AND)"
    ANY = "any", "Any condition (OR)"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


def default_options() -> list[str]:
    return ["approve", "modify", "reject"]


class JudgementPoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="judgement_points")
    slug = models.SlugField(max_length=80, help_text="Unique within the journey; used by the API.")
    name = models.CharField(max_length=200)
    description = models.TextField(
        blank=True, help_text="Why a person must step in here, shown to reviewers."
    )
    combinator = models.CharField(
        max_length=3,
        choices=Combinator.choices,
        default=Combinator.ANY,
        help_text="ALL: fires only when every condition holds. ANY: fires when one does.",
    )
    required_level = models.ForeignKey(
        "oversight.AuthorityLevel",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The lowest authority level that may decide cases from this point.",
    )
    sla_minutes = models.PositiveIntegerField(
        default=240, validators=[MinValueValidator(1)], help_text="Time allowed for a decision."
    )
    four_eyes = models.BooleanField(
        default=False, help_text="Two different people must agree before the decision stands."
    )
    options = models.JSONField(
        default=default_options,
        validators=[validate_option_list],
        help_text="The options a reviewer may choose from, as a list of labels.",
    )
    sampling_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=0,
        validators=RATE_VALIDATORS,
        help_text="Share (0 to 1) of calls this point lets through that are still sampled for "
        "an after-the-fact audit.",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    is_active = models.BooleanField(
        default=True, help_text="Inactive points are kept for the record but never fire."
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Goes up by one with every change, so each gate evaluation names the rules "
        "it was judged by.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["journey", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "slug"], name="judgement_point_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(sampling_rate__gte=0) & models.Q(sampling_rate__lte=1),
                name="judgement_point_sampling_rate_0_1",
                violation_error_message="Sampling rate must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(sla_minutes__gte=1),
                name="judgement_point_sla_positive",
                violation_error_message="The SLA must be at least one minute.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class Operator(models.TextChoices):
    LT = "lt", "is below"
    LTE = "lte", "is at most"
    GT = "gt", "is above"
    GTE = "gte", "is at least"
    EQ = "eq", "equals"
    NE = "ne", "does not equal"
    IS_TRUE = "is_true", "is true"
    IS_FALSE = "is_false", "is false"
    CONTAINS = "contains", "contains"
    CONTAINS_ANY = "contains_any", "contains any of"
    PRESENT = "present", "is present"
    MISSING = "missing", "is missing"


NUMERIC_OPERATORS = {Operator.LT, Operator.LTE, Operator.GT, Operator.GTE}
VALUELESS_OPERATORS = {Operator.IS_TRUE, Operator.IS_FALSE, Operator.PRESENT, Operator.MISSING}


def condition_value_error(operator: str, value) -> str | None:
    """Why a value does not suit an operator, or None if it does."""
    if operator in NUMERIC_OPERATORS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "This operator compares numbers: enter a number, e.g. 0.7."
    elif operator in VALUELESS_OPERATORS:
        if value not in (None, ""):
            return "This operator takes no value: leave the value empty."
    elif operator == Operator.CONTAINS_ANY:
        if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
            return 'Enter a non-empty list of texts, e.g. ["refund policy", "chargeback"].'
    elif operator == Operator.CONTAINS:
        if not isinstance(value, str) or not value:
            return "Enter the text to look for."
    elif operator in (Operator.EQ, Operator.NE) and not isinstance(value, str | int | float | bool):
        return "Enter a number, a text, true or false."
    return None


class TriggerCondition(models.Model):
    """One condition of a trigger: signal, operator, value (e.g. confidence is below 0.7)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    judgement_point = models.ForeignKey(
        JudgementPoint, on_delete=models.CASCADE, related_name="conditions"
    )
    signal = models.CharField(
        max_length=64,
        validators=[signal_name_validator],
        help_text="Signal name as sent by the AI system (e.g. confidence, sentiment) or added "
        "by the server (missing_context, pii_in_proposal).",
    )
    operator = models.CharField(max_length=16, choices=Operator.choices)
    value = models.JSONField(
        null=True,
        blank=True,
        help_text='JSON: a number (0.7), text ("refund"), true/false, or a list of texts.',
    )
    position = models.PositiveSmallIntegerField(default=0)
    history = EvidenceHistory()

    class Meta:
        ordering = ["judgement_point", "position", "signal"]

    def __str__(self) -> str:
        if self.operator in VALUELESS_OPERATORS:
            return f"{self.signal} {self.get_operator_display()}"
        return f"{self.signal} {self.get_operator_display()} {self.value!r}"

    def clean(self) -> None:
        error = condition_value_error(self.operator, self.value)
        if error:
            raise ValidationError({"value": error})
