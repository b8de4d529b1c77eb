"""AI-literacy records: versioned training modules, who completed them, and who must."""

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from audit.history import EvidenceHistory


class Topic(models.TextChoices):
    CAPABILITIES_AND_LIMITS = "capabilities_and_limits", "Capabilities and limits of the system"
    AUTOMATION_BIAS = "automation_bias", "Automation bias"
    INTERPRETING_OUTPUTS = "interpreting_outputs", "Interpreting outputs"
    OVERRIDING = "overriding", "When and how to override"
    ESCALATION_AND_STOP = "escalation_and_stop", "Escalation and the stop procedure"
    DATA_PROTECTION = "data_protection", "Data protection"


class TrainingModule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    topics = models.JSONField(
        default=list, blank=True, help_text="Topics covered, from the fixed list of topics."
    )
    audience = models.ManyToManyField(
        Group, blank=True, related_name="+", help_text="Roles this module is written for."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TrainingModuleVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    module = models.ForeignKey(TrainingModule, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    summary = models.TextField()
    validity_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1)],
        help_text="How long a completion stays current.",
    )
    pass_mark = models.PositiveSmallIntegerField(
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Score (0–100) needed to pass.",
    )
    requires_requalification = models.BooleanField(
        default=True,
        help_text="If on, completions of earlier versions stop counting once this one is "
        "published: everyone must re-qualify.",
    )
    published_on = models.DateField()
    history = EvidenceHistory()

    class Meta:
        ordering = ["module", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["module", "version"], name="module_version_unique"),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0) & Q(pass_mark__lte=100),
                name="module_version_pass_mark_0_100",
                violation_error_message="The pass mark must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(validity_months__gte=1),
                name="module_version_validity_positive",
                violation_error_message="Validity must be at least one month.",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="module_version_positive",
                violation_error_message="Versions start at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.module.title} v{self.version}"


class TrainingCompletion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_completions"
    )
    module_version = models.ForeignKey(
        TrainingModuleVersion, on_delete=models.PROTECT, related_name="completions"
    )
    completed_on = models.DateField()
    score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    passed = models.BooleanField()
    expires_on = models.DateField(
        help_text="Completed on plus the version's validity; set by the product."
    )
    evidence = models.FileField(upload_to="training-evidence/%Y/%m/", blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty only for records the product made itself (e.g. demo data).",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["-completed_on"]
        indexes = [models.Index(fields=["user", "expires_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="completion_score_0_100",
                violation_error_message="The score must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("completed_on")),
                name="completion_expires_after_completed",
                violation_error_message="The expiry date must be after the completion date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.module_version} on {self.completed_on}"


class TrainingRequirement(models.Model):
    """A module that holders of an authority level, or members of a role, must have current."""

    module = models.ForeignKey(
        TrainingModule, on_delete=models.PROTECT, related_name="requirements"
    )
    authority_level = models.ForeignKey(
        "oversight.AuthorityLevel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="training_requirements",
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="role",
    )
    history = EvidenceHistory()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(authority_level__isnull=False) & Q(group__isnull=True))
                | (Q(authority_level__isnull=True) & Q(group__isnull=False)),
                name="requirement_exactly_one_holder",
                violation_error_message="A requirement applies to an authority level or a role.",
            ),
            models.UniqueConstraint(
                fields=["module", "authority_level"],
                condition=Q(authority_level__isnull=False),
                name="requirement_unique_per_level",
                violation_error_message="This level already requires this module.",
            ),
            models.UniqueConstraint(
                fields=["module", "group"],
                condition=Q(group__isnull=False),
                name="requirement_unique_per_role",
                violation_error_message="This role already requires this module.",
            ),
        ]

    def __str__(self) -> str:
        holder = self.authority_level or self.group
        return f"{holder} needs {self.module}"
