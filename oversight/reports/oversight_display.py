"""The oversight report's display rows: the figures of `data` as the PDF prints them, each with
its label and definition (context only; every number in them is in `data`)."""

import datetime

from oversight.metrics.definitions import definition, percent
from oversight.metrics.definitions import label as figure_label
from oversight.reports.oversight_charts import rate_trend_svg


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    minutes = value / 60
    if minutes < 120:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def display(data: dict) -> dict:
    """The report's display rows (context only; every number in them is in `data`)."""
    activity = data["activity"]
    totals = activity["totals"]
    four = activity["four_eyes"]
    speed = activity["time_to_decision"]

    def defined(key: str, value, label: str | None = None) -> tuple[str, object, str]:
        # (label, value, the printed definition): one table of definitions for all figures.
        return (label or figure_label(key), value, definition(key))

    escalation_split = (
        f"{totals['escalations']} by a reviewer, {totals['sla_breaches']} for a missed SLA, "
        f"{totals['four_eyes_disagreements']} four-eyes disagreements"
    )
    headline = [
        defined("gate_calls", totals["gate_calls"]),
        defined("routed_share", percent(totals["routed_share"])),
        defined("blocked_share", percent(totals["blocked_share"])),
        defined("cases_opened", activity["cases_opened"]),
        defined("cases_decided", totals["cases_decided"]),
        defined("overrides", totals["overrides"]),
        defined("override_rate", percent(totals["override_rate"])),
        defined("escalations_all", totals["escalations_all"]),
    ]
    activity_rows = [
        defined("gate_calls", totals["gate_calls"]),
        defined(
            "routed_share",
            f"{totals['routed_to_humans']} ({percent(totals['routed_share'])})",
        ),
        defined("blocked_share", f"{totals['blocked']} ({percent(totals['blocked_share'])})"),
        defined("cases_opened", activity["cases_opened"]),
        defined("cases_decided", totals["cases_decided"]),
        defined("cases_judged", totals["cases_judged"]),
        defined("live_decisions", totals["live_decisions"]),
        defined("overrides", totals["overrides"]),
        defined("override_rate", percent(totals["override_rate"])),
        defined("escalations_all", f"{totals['escalations_all']} ({escalation_split})"),
        defined("escalations", totals["escalations"]),
        defined("sla_escalations", totals["sla_breaches"]),
        defined("four_eyes_disagreements", totals["four_eyes_disagreements"]),
        defined("escalation_rate", percent(totals["escalation_rate"])),
        ("Four eyes: second reviews", four["second_reviews"], ""),
        ("Four eyes: confirmed", four["confirmed"], ""),
        ("Four eyes: not confirmed", four["not_confirmed"], ""),
        ("Sample audits", totals["sample_audits"], ""),
        ("Sample audits disagreeing", totals["audit_disagreements"], ""),
        defined("audit_disagreement_rate", percent(totals["audit_disagreement_rate"])),
        defined("time_to_decision", _seconds(speed["median"]), "Time to decision, median"),
        defined("time_to_decision", _seconds(speed["p90"]), "Time to decision, p90"),
    ]
    point_rows = [
        {
            "journey": row["journey"],
            "point": row["point"],
            "cases_decided": row["figures"]["cases_decided"],
            "live_decisions": row["figures"]["live_decisions"],
            "cases_judged": row["figures"]["cases_judged"],
            "overrides": row["figures"]["overrides"],
            "override_rate": percent(row["figures"]["override_rate"]),
            "escalations": row["figures"]["escalations"],
            "sla_breaches": row["figures"]["sla_breaches"],
            "audit_disagreement": percent(row["figures"]["audit_disagreement_rate"]),
            "median": _seconds(row["time_to_decision"]["median"]),
            "p90": _seconds(row["time_to_decision"]["p90"]),
        }
        for row in activity["by_point"]
    ]
    outcomes = data["outcomes"]
    effort_rows = [
        {
            "label": row["label"],
            "definition": row["definition"],
            "count": row["count"],
            "median": "–" if row["median"] is None else f"{row['median']:g}",
            "p90": "–" if row["p90"] is None else f"{row['p90']:g}",
        }
        for row in outcomes["effort_by_route"]
    ]
    outcome_rows = [
        ("Outcomes reported", outcomes["outcomes"]),
        (
            "Repeat contact",
            f"{outcomes['repeat_contacts']} of {outcomes['repeat_contact_answers']} "
            f"({percent(outcomes['repeat_contact_rate'])})",
        ),
        (
            "Complaints",
            f"{outcomes['complaints']} of {outcomes['complaint_answers']} "
            f"({percent(outcomes['complaint_rate'])})",
        ),
        (
            "Reversals",
            f"{outcomes['reversals']} of {outcomes['reversal_answers']} "
            f"({percent(outcomes['reversal_rate'])})",
        ),
    ]
    series = data["trends"]["series"]
    chart = rate_trend_svg(
        [datetime.date.fromisoformat(row["bucket"]) for row in series],
        {
            "Routed to a person": [row["routed_share"] for row in series],
            "Override rate": [row["override_rate"] for row in series],
        },
        label=f"Routed share and override rate per {data['trends']['bucket']}",
    )
    trend_rows = [
        {
            "bucket": row["bucket"],
            "gate_calls": row["gate_calls"],
            "routed_share": percent(row["routed_share"]),
            "live_decisions": row["live_decisions"],
            "cases_judged": row["cases_judged"],
            "override_rate": percent(row["override_rate"]),
        }
        for row in series
        if row["gate_calls"] or row["live_decisions"]
    ]
    return {
        "headline": headline,
        "activity_rows": activity_rows,
        "point_rows": point_rows,
        "effort_rows": effort_rows,
        "outcome_rows": outcome_rows,
        "trend_chart": chart,
        "trend_rows": trend_rows,
    }


# --- the builder -----------------------------------------------------------------------------
