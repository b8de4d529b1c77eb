"""Keep the daily decision summaries true: changes that touch a summarised day mark it stale.

See `oversight.services.decision_rollups`. Both receivers cost nothing on the ordinary path: a
decision written on its own (open) day and a case still in its first review round make no
query.
"""

import datetime

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from oversight.models import Case, Decision
from oversight.services.rollups import GRACE


@receiver(post_save, sender=Decision, dispatch_uid="decision_days_late_decision")
def late_decision(sender, instance: Decision, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created:
        return
    from oversight.services.decision_rollups import mark_decision_day_stale

    # A day is summarised only once closed for GRACE: a decision of a later day cannot be in
    # any summary yet, so only an older one (written late, or imported) needs the check.
    closed_until = (timezone.now() - GRACE).astimezone(datetime.UTC).date()
    if instance.decided_at.astimezone(datetime.UTC).date() < closed_until:
        mark_decision_day_stale(instance.decided_at)


@receiver(post_save, sender=Case, dispatch_uid="decision_days_case_escalated")
def case_saved(sender, instance: Case, created: bool, raw: bool = False, **kwargs) -> None:
    # Only a later round turns an earlier second review into a four-eyes disagreement.
    if raw or created or instance.review_round <= 1:
        return
    from oversight.services.decision_rollups import mark_case_days_stale

    mark_case_days_stale(instance.pk)
