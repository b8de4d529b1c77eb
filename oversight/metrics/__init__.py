"""Oversight metrics, computed in the database and returned as plain data.

A package split by concern: `figures` (counts and rates, per dimension), `breakdown` (the
dashboard's one-pass breakdown over daily summaries), `percentiles` (medians, time to
decision), `effort` (customer effort by route), `calibration` (confidence bands) and `watch`
(automation-bias watch). Everything public is re-exported here, so callers import from
`oversight.metrics`.

Every figure is an aggregation (COUNT with FILTER, GROUP BY, percentiles) over one table, so the
cost is a fixed number of queries whatever the number of rows; Python only walks grouped
results (journeys, days, confidence bands, reviewers), never the records themselves. Results
are dataclasses and dicts of numbers, so the dashboard, the guardrails and the
PDF reports read the same figures.

Definitions (the period is half-open, [start, end), in UTC). The sentences printed beside each
figure are in `oversight.metrics.definitions`, the one source for the report, the dashboard and
docs/compliance-guide.md; in terms of the tables:

- gate calls: gate evaluations created in the period; routed share = route "human" / calls;
  blocked share = route "blocked" / calls (blocked calls are not routed to people).
- cases decided: cases whose `decided_at` falls in the period; SLA breaches: cases whose
  `sla_breached_at` falls in the period (each breach escalates the case: the SLA escalations).
- cases judged: cases whose first live decision (approve, modify, reject, escalate) falls in the
  period; overrides: cases whose first overriding live decision falls in it ("first" by review
  round, then stage), so a second reviewer's confirmation is not counted again; override rate =
  overrides / cases judged.
- escalations (by a reviewer): "escalate" decisions; four-eyes disagreements: second reviews,
  not themselves escalations, whose round was closed (the case went up a level); escalation
  rate: escalations by a reviewer / live decisions.
- sample-audit disagreement rate: "disagree" / ("agree" + "disagree") decisions in the period.
- time to decision: `decided_at - opened_at` of the cases decided in the period.
- outcomes (customer effort, repeat contact, reversals): outcomes reported in the period; the
  repeat-contact and reversal rates count only outcomes that say yes or no.
- customer effort by route, from what the case was: "automated" for a sample-audit case (the
  automation had acted) or a gate call that let automation proceed; otherwise "overridden"
  when the case (directly or through its gate evaluation) has an overriding decision; "human"
  for the remaining outcomes of cases decided by a person.

Also here: threshold calibration (override rate per confidence band, and the lowest confidence
from which people stay within a target override rate) and the automation-bias watch (reviewers
who agree with the AI on nearly every case, far faster than their peers).

Percentiles are continuous (linear interpolation between the two nearest values, as
PostgreSQL's `percentile_cont`). PostgreSQL computes them with `percentile_cont` itself; SQLite
has no such aggregate, so there one COUNT query is followed by one query per percentile that
reads at most two values, ordered, with OFFSET: bounded memory and the same answer.
"""

from oversight.metrics.breakdown import Breakdown, breakdown
from oversight.metrics.calibration import (
    ConfidenceBand,
    calibration_by_confidence,
    suggested_threshold,
)
from oversight.metrics.effort import EFFORT_ROUTES, customer_effort_by_route
from oversight.metrics.figures import (
    AUDIT_OUTCOMES,
    BLOCKED,
    DAY,
    DIMENSIONS,
    LIVE_OUTCOMES,
    ROUTED,
    Figures,
    Period,
    Scope,
    cases_behind,
    figures,
    figures_by,
    ratio,
    utc_midnight,
)
from oversight.metrics.percentiles import (
    Distribution,
    PercentileCont,
    distribution,
    time_to_decision,
    time_to_decision_by_point,
)
from oversight.metrics.watch import (
    AGREEING,
    AutomationBiasWatch,
    ReviewerPattern,
    automation_bias_watch,
    escalating_points,
)

__all__ = [
    "AGREEING",
    "AUDIT_OUTCOMES",
    "BLOCKED",
    "DAY",
    "DIMENSIONS",
    "EFFORT_ROUTES",
    "LIVE_OUTCOMES",
    "ROUTED",
    "AutomationBiasWatch",
    "Breakdown",
    "ConfidenceBand",
    "Distribution",
    "Figures",
    "PercentileCont",
    "Period",
    "ReviewerPattern",
    "Scope",
    "automation_bias_watch",
    "breakdown",
    "calibration_by_confidence",
    "cases_behind",
    "customer_effort_by_route",
    "distribution",
    "escalating_points",
    "figures",
    "figures_by",
    "ratio",
    "suggested_threshold",
    "time_to_decision",
    "time_to_decision_by_point",
    "utc_midnight",
]
