"""Customer effort of the outcomes reported in a period, per route (automated, decided by a
person, overridden)."""

from django.db import connection
from django.db.models import Case as DbCase
from django.db.models import (
    CharField,
    Count,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)

from oversight.metrics.figures import Period, Scope, _in, _scope_q
from oversight.metrics.percentiles import Distribution, PercentileCont, distribution
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    GateEvaluation,
    Outcome,
    Route,
    RouteReason,
)

EFFORT_ROUTES = ("automated", "human", "overridden")


def _effort_route():
    """Each outcome's route, by a primary-key lookup of its gate evaluation and of that
    evaluation's case (most outcomes have none to look up), and a hashed IN over the overriding
    decisions: no join of the (large) gate-evaluation table."""
    evaluation = GateEvaluation.objects.filter(pk=OuterRef("evaluation_id")).order_by()
    evaluation_case = Case.objects.filter(evaluation_id=OuterRef("evaluation_id")).order_by()
    overridden_cases = Decision.objects.filter(is_override=True).values("case_id")
    return {
        "evaluation_route": Subquery(evaluation.values("route")[:1]),
        "evaluation_case": Subquery(evaluation_case.values("pk")[:1]),
        "evaluation_case_status": Subquery(evaluation_case.values("status")[:1]),
        "evaluation_case_reason": Subquery(evaluation_case.values("route_reason")[:1]),
    }, DbCase(
        # What the case was decides the route: a sample audit reviews an action automation had
        # already taken, so its outcome is automation's, whatever the auditor said.
        When(
            Q(case__route_reason=RouteReason.SAMPLE_AUDIT)
            | Q(evaluation_case_reason=RouteReason.SAMPLE_AUDIT),
            then=Value("automated"),
        ),
        When(
            Q(case_id__in=overridden_cases) | Q(evaluation_case__in=overridden_cases),
            then=Value("overridden"),
        ),
        When(evaluation_route=Route.AUTOMATE, then=Value("automated")),
        When(
            Q(case__status=CaseStatus.DECIDED) | Q(evaluation_case_status=CaseStatus.DECIDED),
            then=Value("human"),
        ),
        default=None,
        output_field=CharField(),
    )


def customer_effort_by_route(*, period: Period, scope: Scope = Scope()) -> dict[str, Distribution]:
    """Customer effort (1-7) of the outcomes reported in the period, per route.

    {"automated": ..., "human": ..., "overridden": ...}; see the module docstring. PostgreSQL:
    one query grouped by route; elsewhere `distribution` per route.
    """
    lookups, route = _effort_route()
    outcomes = (
        Outcome.objects.filter(
            _in(period, "reported_at"), _scope_q(scope, "outcome"), customer_effort__isnull=False
        )
        .annotate(**lookups)
        .annotate(effort_route=route)
        .exclude(effort_route=None)
    )
    empty = Distribution(0, None, None)
    if connection.vendor == "postgresql":
        rows = (
            outcomes.order_by()
            .values("effort_route")
            .annotate(
                count=Count("pk"),
                median=PercentileCont("customer_effort", fraction=0.5),
                p90=PercentileCont("customer_effort", fraction=0.9),
            )
        )
        found = {
            row["effort_route"]: Distribution(row["count"], row["median"], row["p90"])
            for row in rows
        }
        return {name: found.get(name, empty) for name in EFFORT_ROUTES}
    return {
        name: distribution(outcomes.filter(effort_route=name), F("customer_effort"))
        for name in EFFORT_ROUTES
    }
