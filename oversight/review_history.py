"""Read-side queries for the cases a reviewer took part in: "Cases I escalated", "Decided by me".

A reviewer who escalated a case, or decided it, keeps a read-only view of it even once it has
left their authority: what the system saw, the decisions, what happened next. The rule is
narrow on purpose (invariant 10): a case opens read-only only for a person who holds a Decision
on it. Nothing here widens the case admin, its history pages or any other URL.

Each function runs a fixed number of queries whatever the number of cases.
"""

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from oversight.models import Case, Decision, DecisionOutcome, JudgementPoint

ESCALATED_TAB = "escalated"
DECIDED_TAB = "decided"
PAST_TABS = (ESCALATED_TAB, DECIDED_TAB)


def _mine(user, tab: str) -> Q:
    """The user's decisions that put a case in `tab`."""
    escalated = Q(outcome=DecisionOutcome.ESCALATE)
    return Q(reviewer=user) & (escalated if tab == ESCALATED_TAB else ~escalated)


def review_queryset(cases: QuerySet) -> QuerySet:
    """`cases` with everything the decision screen reads: four queries for one case (case,
    points, their conditions, decisions)."""
    decisions = Decision.objects.select_related(
        "reviewer", "authority_level", "override_reason"
    ).order_by("review_round", "decided_at")
    return cases.select_related(
        "journey__ai_system", "required_level", "claimed_by", "evaluation"
    ).prefetch_related(
        Prefetch("judgement_points", queryset=JudgementPoint.objects.order_by("name")),
        "judgement_points__conditions",
        Prefetch("decisions", queryset=decisions),
    )


def past_cases(user, tab: str) -> QuerySet:
    """The cases `user` escalated (`ESCALATED_TAB`) or decided (`DECIDED_TAB`), the most
    recent of their decisions first, whatever authority they hold now.

    Rows carry `my_last_at` (when the user last decided or escalated it in this tab), their
    journey, level and claim holder, and their decisions with reviewers (to say what happened
    next): three queries per page (rows, decisions, points).
    """
    mine = Decision.objects.filter(_mine(user, tab), case=OuterRef("pk"))
    decisions = Decision.objects.select_related("reviewer", "override_reason").order_by(
        "review_round", "decided_at"
    )
    return (
        Case.objects.filter(pk__in=Decision.objects.filter(_mine(user, tab)).values("case_id"))
        .annotate(
            my_last_at=Subquery(
                mine.order_by().values("case_id").annotate(last=Max("decided_at")).values("last")
            )
        )
        .select_related("journey", "required_level", "claimed_by")
        .prefetch_related(
            Prefetch("decisions", queryset=decisions),
            Prefetch("judgement_points", queryset=JudgementPoint.objects.order_by("name")),
        )
        .order_by("-my_last_at", "pk")
    )


def past_counts(user) -> dict[str, int]:
    """How many cases `user` escalated, and decided, in one query."""
    return Decision.objects.filter(reviewer=user).aggregate(
        **{tab: Count("case_id", distinct=True, filter=_mine(user, tab)) for tab in PAST_TABS}
    )


def case_for_reading(user, case_id) -> Case | None:
    """The case, with what the decision screen shows, if `user` holds a Decision on it (they
    escalated or decided it); None otherwise. Never a case they merely could have seen."""
    mine = Decision.objects.filter(reviewer=user, case_id=case_id)
    cases = Case.objects.filter(pk=case_id, pk__in=mine.values("case_id"))
    return review_queryset(cases).first()
