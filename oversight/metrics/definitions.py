"""What each headline figure counts, in one sentence a reader sees beside the figure.

One source for the text: the oversight report prints it beside each figure, the dashboard
shows it with the same figures, and docs/compliance-guide.md repeats it (a test holds the
guide to this table). Each sentence says what is counted and what is not, chosen so that the
natural reading of the label is the right one.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureDefinition:
    key: str
    label: str
    definition: str


DEFINITIONS: tuple[FigureDefinition, ...] = (
    FigureDefinition(
        "gate_calls",
        "Gate calls",
        "Every “may I proceed?” call the AI system made in the period, whatever the answer.",
    ),
    FigureDefinition(
        "routed_share",
        "Routed to people",
        "Gate calls sent to a person to decide, as a share of all gate calls; blocked calls "
        "are not included (they are shown on their own).",
    ),
    FigureDefinition(
        "blocked_share",
        "Blocked",
        "Gate calls refused outright (neither automated nor sent to a person), as a share of "
        "all gate calls.",
    ),
    FigureDefinition(
        "cases_opened",
        "Cases opened",
        "Cases opened in the period, whatever their route (trigger, sample audit, customer "
        "request, automation paused, shadow mode).",
    ),
    FigureDefinition(
        "cases_decided",
        "Cases decided",
        "Cases whose final decision was taken in the period; cases still open, awaiting a "
        "second review or escalated are not counted.",
    ),
    FigureDefinition(
        "cases_judged",
        "Cases judged",
        "Cases given their first live decision (approve, modify, reject, escalate) in the "
        "period, each case once; sample audits are not included.",
    ),
    FigureDefinition(
        "live_decisions",
        "Live decisions",
        "Approve, modify, reject and escalate decisions taken in the period, second reviews "
        "included; sample-audit reviews are not included.",
    ),
    FigureDefinition(
        "overrides",
        "Overrides",
        "Cases on which a reviewer overrode the AI's proposal, counted once per case when "
        "first overridden; a second reviewer's confirmation is not counted again.",
    ),
    FigureDefinition(
        "override_rate",
        "Override rate",
        "Overrides as a share of the cases judged in the period.",
    ),
    FigureDefinition(
        "escalations_all",
        "Escalations",
        "Cases sent up a level in the period, for any of three causes: a reviewer escalated, "
        "the SLA was missed, or the two reviewers of a four-eyes case disagreed.",
    ),
    FigureDefinition(
        "escalations",
        "Escalations by a reviewer",
        "Decisions in the period in which a reviewer escalated the case instead of deciding it.",
    ),
    FigureDefinition(
        "sla_escalations",
        "Escalations for a missed SLA",
        "Cases whose SLA deadline passed undecided in the period (each breach escalates the "
        "case automatically; each case counted once).",
    ),
    FigureDefinition(
        "four_eyes_disagreements",
        "Escalations for four-eyes disagreement",
        "Second reviews in the period that did not confirm the first decision, so the case "
        "went up a level; a second reviewer's own escalation counts as a reviewer escalation.",
    ),
    FigureDefinition(
        "escalation_rate",
        "Escalation rate",
        "Escalations by a reviewer as a share of live decisions.",
    ),
    FigureDefinition(
        "audit_disagreement_rate",
        "Sample-audit disagreement",
        "Sample-audit reviews in the period that disagreed with what automation had done, as "
        "a share of all sample-audit reviews.",
    ),
    FigureDefinition(
        "time_to_decision",
        "Time to decision",
        "From opening to final decision, of the cases decided in the period (median and 90th "
        "percentile).",
    ),
    FigureDefinition(
        "route_automated",
        "Automated",
        "Outcomes of actions automation took, including those a sample audit reviewed afterwards.",
    ),
    FigureDefinition(
        "route_human",
        "Decided by a person",
        "Outcomes of cases a person decided before anything was done, without overriding the AI.",
    ),
    FigureDefinition(
        "route_overridden",
        "Overridden",
        "Outcomes of cases on which a person overrode the AI's proposal.",
    ),
    FigureDefinition(
        "complaint_rate",
        "Complaints",
        "Outcomes reported in the period that say the customer complained, as a share of the "
        "outcomes that say whether they did.",
    ),
)

BY_KEY: dict[str, FigureDefinition] = {item.key: item for item in DEFINITIONS}


def definition(key: str) -> str:
    """The printed definition of one figure (KeyError for a figure without one: a test
    makes sure every headline figure has one)."""
    return BY_KEY[key].definition


def label(key: str) -> str:
    return BY_KEY[key].label


def markdown_table() -> str:
    """The definitions as the Markdown table of docs/compliance-guide.md ("Figure
    definitions"), so the guide is regenerated from this table, never edited apart from it."""
    lines = ["| figure | what it counts |", "| --- | --- |"]
    lines += [f"| **{item.label}** | {item.definition} |" for item in DEFINITIONS]
    return "\n".join(lines)


def percent(value: float | None) -> str:
    """A rate as every page and report prints it: one decimal and a space before the sign
    ("71.4 %"), or a dash when there was nothing to count. The one rounding rule: a chart and
    the table under it never disagree."""
    return "–" if value is None else f"{value * 100:.1f} %"


def duration(seconds: float | None) -> str:
    """A length of time as a person says it, the one rule of every page that shows one:
    "45 s", "8 min 20 s" (under ten minutes seconds still matter), "12 min", "1 h 8 min",
    "2 d 3 h", or a dash when nothing was measured. Rounded half up to the unit shown, so
    4050 s reads "1 h 8 min"."""
    if seconds is None:
        return "–"
    total = int(seconds + 0.5)
    if total < 60:
        return f"{total} s"
    if total < 600:
        minutes, rest = divmod(total, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    minutes = (total + 30) // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    hours = (minutes + 30) // 60
    days, rest = divmod(hours, 24)
    return f"{days} d {rest} h" if rest else f"{days} d"
