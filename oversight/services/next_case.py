"""Claiming the next case of a reviewer's queue: "Decide and open next".

The next case is the first free one in the queue's own order (`queue_for`: nearest SLA
deadline, then priority, then age), so working through "next" is working the queue top down.
"""

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from oversight.exceptions import DomainError
from oversight.models import Case, CaseStatus, Decision, DecisionStage
from oversight.review_selectors import AUDIT_TAB, LIVE_TAB, QueueFilters, queue_for
from oversight.services.cases import claim_case

# Candidates tried in turn when others claim them first; beyond that the queue is too busy to
# chase and the reviewer goes back to it.
CANDIDATES = 10


def free_cases(reviewer, *, sample_audits: bool, at: datetime.datetime):
    """The reviewer's queue (one tab) without the cases they cannot claim now: held by someone
    else, or the second review of a four-eyes case whose first review was theirs."""
    took_first = Decision.objects.filter(
        case=OuterRef("pk"),
        review_round=OuterRef("review_round"),
        stage=DecisionStage.FIRST,
        reviewer=reviewer,
    )
    tab = AUDIT_TAB if sample_audits else LIVE_TAB
    return (
        queue_for(reviewer, QueueFilters(tab=tab), at=at)
        .filter(
            Q(claimed_by__isnull=True)
            | Q(claimed_by=reviewer)
            | Q(claim_expires_at__isnull=True)
            | Q(claim_expires_at__lte=at)
        )
        .exclude(Q(status=CaseStatus.AWAITING_SECOND_REVIEW) & Exists(took_first))
    )


def claim_next_case(*, reviewer, sample_audits: bool = False) -> Case | None:
    """Claim the first free case of the reviewer's queue (live cases, or sample audits) and
    return it; None when there is none.

    Each claim goes through `claim_case` (its rules, lock and ledger event). A case another
    reviewer claims between the look-up and the claim is skipped for the next one.
    """
    now = timezone.now()
    for case in free_cases(reviewer, sample_audits=sample_audits, at=now)[:CANDIDATES]:
        try:
            return claim_case(case=case, reviewer=reviewer)
        except DomainError:
            continue
    return None
