"""Keep the daily summaries true: changes that touch a summarised day mark it stale.

See `oversight.services.day_summaries` for what can change a summarised day. Writing a decision
or an outcome on its own (open) day makes no query here; a case decided, a case in a later
review round and an overriding decision make one or two (a SELECT of the summarised days they
touch, usually none); saving a case decided on a summarised day makes one more.
"""

import datetime

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from oversight.models import Case, CaseStatus, Decision, Outcome
from oversight.services.rollups import GRACE


def _on_a_closed_day(when: datetime.datetime) -> bool:
    """A day is summarised only once closed for GRACE: a row of a later day cannot be in any
    summary yet, so only an older one (written late, or imported) needs a look."""
    closed_until = (timezone.now() - GRACE).astimezone(datetime.UTC).date()
    return when.astimezone(datetime.UTC).date() < closed_until


@receiver(post_save, sender=Decision, dispatch_uid="day_summaries_decision")
def decision_saved(sender, instance: Decision, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created:
        return
    from oversight.services import day_summaries

    if _on_a_closed_day(instance.decided_at):
        day_summaries.mark_day_stale(day_summaries.DECISIONS, instance.decided_at)
    if instance.is_override:  # the case's outcomes are now "overridden", and so is the case
        day_summaries.mark_case_outcome_days_stale(instance.case_id)
        day_summaries.mark_case_decided_day_stale(instance.case_id)


@receiver(post_save, sender=Outcome, dispatch_uid="day_summaries_outcome")
def outcome_saved(sender, instance: Outcome, raw: bool = False, **kwargs) -> None:
    if raw or not _on_a_closed_day(instance.reported_at):
        return
    from oversight.services import day_summaries

    day_summaries.mark_day_stale(day_summaries.OUTCOMES, instance.reported_at)


@receiver(post_save, sender=Case, dispatch_uid="day_summaries_case")
def case_saved(sender, instance: Case, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or created:
        return
    from oversight.services import day_summaries

    # Only a later round turns an earlier second review into a four-eyes disagreement.
    if instance.review_round > 1:
        day_summaries.mark_case_decision_days_stale(instance.pk)
    # A decided case's outcomes count as decided by a person.
    if instance.status == CaseStatus.DECIDED:
        day_summaries.mark_case_outcome_days_stale(instance.pk)
    # A case decided on a summarised day and saved again (its status, say) may leave its band.
    if instance.decided_at is not None and _on_a_closed_day(instance.decided_at):
        day_summaries.mark_day_stale(day_summaries.DECIDED_CASES, instance.decided_at)
