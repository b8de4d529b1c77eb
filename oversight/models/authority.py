"""Authority: ordered levels with capabilities, and grants of a level to a person on a scope."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from audit.history import EvidenceHistory
from oversight.models.systems import AISystem, Journey


class AuthorityLevel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="Higher ranks hold more authority; a rank covers all below it."
    )
    description = models.TextField(blank=True)
    may_decide = models.BooleanField(default=True, help_text="May decide cases at all.")
    may_override = models.BooleanField(
        default=False, help_text="May take a decision that differs from the AI's proposal."
    )
    may_approve_irreversible = models.BooleanField(
        default=False, help_text="May approve actions that cannot be undone."
    )
    monetary_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Largest amount one decision may approve; empty means no limit.",
    )
    history = EvidenceHistory()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monetary_limit__isnull=True) | Q(monetary_limit__gte=0),
                name="authority_level_limit_not_negative",
                violation_error_message="The monetary limit cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (rank {self.rank})"


class AuthorityGrant(models.Model):
    """One person holds one level on one scope (an AI system, or one journey) for a period."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authority_grants"
    )
    level = models.ForeignKey(AuthorityLevel, on_delete=models.PROTECT, related_name="grants")
    ai_system = models.ForeignKey(
        AISystem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority_grants",
        help_text="Scope: every journey of this AI system. Set this or a journey, not both.",
    )
    journey = models.ForeignKey(
        Journey,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority_grants",
        help_text="Scope: this journey only. Set this or an AI system, not both.",
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Empty means until revoked."
    )
    justification = models.TextField(help_text="Why this person needs this authority.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority_grants_given",
        help_text="Empty only for grants made by the product itself (initial set-up).",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority_grants_revoked",
    )
    revocation_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = EvidenceHistory()

    class Meta:
        ordering = ["-valid_from"]
        indexes = [models.Index(fields=["user", "valid_from"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(ai_system__isnull=False) & Q(journey__isnull=True))
                | (Q(ai_system__isnull=True) & Q(journey__isnull=False)),
                name="grant_exactly_one_scope",
                violation_error_message="A grant's scope is either an AI system or a journey.",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="grant_valid_until_after_valid_from",
                violation_error_message="'Valid until' must be after 'valid from'.",
            ),
            models.CheckConstraint(
                condition=Q(granted_by__isnull=True) | ~Q(granted_by=F("user")),
                name="grant_not_to_oneself",
                violation_error_message="Nobody may grant authority to themselves.",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revocation_reason=""),
                name="grant_revocation_has_reason",
                violation_error_message="A revocation needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.journey or self.ai_system
        return f"{self.user} — {self.level.name} on {scope}"

    def is_active_at(self, moment) -> bool:
        """In date and not revoked at that moment (training is checked by the authority service)."""
        if self.valid_from > moment:
            return False
        if self.valid_until is not None and self.valid_until <= moment:
            return False
        return self.revoked_at is None or self.revoked_at > moment
