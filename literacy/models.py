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


class SystemBriefing(models.Model):
    """A short, versioned briefing on one AI system that its overseers must acknowledge.

    What the system can and cannot do, its known limitations, how to use it and how to stop it
    (EU AI Act Art. 4 and 26). Published versions are never edited: a change is a new version,
    which asks everyone for a new acknowledgement.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ai_system = models.ForeignKey(
        "oversight.AISystem", on_delete=models.PROTECT, related_name="briefings"
    )
    version = models.PositiveIntegerField()
    capabilities = models.TextField(help_text="What the system can do, and what it is for.")
    limitations = models.TextField(help_text="What it cannot do; its known limitations.")
    instructions_for_use = models.TextField()
    stop_procedure = models.TextField(help_text="How to stop it (pause its journeys) and when.")
    published_on = models.DateField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["ai_system", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "version"], name="briefing_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="briefing_version_positive",
                violation_error_message="Versions start at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"Briefing on {self.ai_system} v{self.version}"


class BriefingAcknowledgement(models.Model):
    """A person's acknowledgement of one version of a system briefing. Insert-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="briefing_acknowledgements",
    )
    briefing = models.ForeignKey(
        SystemBriefing, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField()
    history = EvidenceHistory()

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "briefing"],
                name="briefing_acknowledged_once",
                violation_error_message="This person already acknowledged this briefing.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.briefing}"


class BriefingRequirement(models.Model):
    """Holders of an authority level must have acknowledged the AI system's current briefing."""

    authority_level = models.ForeignKey(
        "oversight.AuthorityLevel", on_delete=models.PROTECT, related_name="briefing_requirements"
    )
    ai_system = models.ForeignKey(
        "oversight.AISystem", on_delete=models.PROTECT, related_name="briefing_requirements"
    )
    history = EvidenceHistory()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority_level", "ai_system"],
                name="briefing_requirement_unique",
                violation_error_message="This level already requires this system's briefing.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.authority_level} needs the briefing on {self.ai_system}"


class TrainingReminder(models.Model):
    """That a reminder went out for a completion nearing expiry, at one threshold (days before).

    Unique per completion and threshold: the daily task sends each reminder once, however
    often it runs.
    """

    completion = models.ForeignKey(
        TrainingCompletion, on_delete=models.PROTECT, related_name="reminders"
    )
    threshold_days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    recipients = models.JSONField(default=list, help_text="E-mail addresses it was sent to.")

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["completion", "threshold_days"], name="reminder_once_per_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.threshold_days}-day reminder for {self.completion}"
