"""The oversight report's "Automation bias watch" (EU AI Act Art. 14(4)(b)).

Art. 14(4)(b) asks that the people overseeing a high-risk system stay aware of the tendency to
rely on its output too readily. The dashboard's two watches say where to look: reviewers who
may be rubber-stamping (`automation_bias_watch`) and judgement points whose overrides rise while
their outcomes do not improve (`escalating_points`). The report prints both with the rules they
apply, for the same period and AI system, so the PDF and the dashboard agree. A flag is a
prompt to look at the evidence, not a verdict.
"""

from django.contrib.auth import get_user_model

from oversight.metrics import Period, Scope, automation_bias_watch, escalating_points
from oversight.metrics.definitions import percent
from oversight.models import AISystem, JudgementPoint

# The watches' thresholds, printed in the report as the rule each flag follows.
MIN_DECISIONS = 20
AGREEMENT_AT_LEAST = 0.95
SPEED_RATIO_AT_MOST = 0.25
POINT_MIN_DECISIONS = 10
RISE_AT_LEAST = 0.10


def _person(user) -> str:
    if user is None:
        return "unknown person"
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


def bias_section(*, ai_system: AISystem, period: Period) -> dict:
    """Flagged reviewers and judgement points of the AI system in the period, as plain JSON."""
    scope = Scope(ai_system=ai_system)
    watch = automation_bias_watch(
        period=period,
        scope=scope,
        min_decisions=MIN_DECISIONS,
        agreement_at_least=AGREEMENT_AT_LEAST,
        speed_ratio_at_most=SPEED_RATIO_AT_MOST,
    )
    points = escalating_points(
        period=period,
        scope=scope,
        min_decisions=POINT_MIN_DECISIONS,
        rise_at_least=RISE_AT_LEAST,
    )
    users = get_user_model().objects.in_bulk([p.reviewer_id for p in watch.flagged])
    flagged_points = [p for p in points if p["flagged"]]
    names = {
        point.pk: f"{point.journey.name} / {point.name}"
        for point in JudgementPoint.objects.filter(
            pk__in=[p["point_id"] for p in flagged_points]
        ).select_related("journey")
    }
    return {
        "rules": {
            "min_decisions": MIN_DECISIONS,
            "agreement_at_least": AGREEMENT_AT_LEAST,
            "speed_ratio_at_most": SPEED_RATIO_AT_MOST,
            "point_min_decisions": POINT_MIN_DECISIONS,
            "rise_at_least": RISE_AT_LEAST,
        },
        "reviewers_considered": len(watch.reviewers),
        "peer_median_seconds": watch.peer_median_seconds,
        "rubber_stamping": [
            {
                "reviewer": _person(users.get(p.reviewer_id)),
                "decisions": p.decisions,
                "agreed": p.agreed,
                "agreement_rate": p.agreement_rate,
                "median_seconds": p.median_seconds,
            }
            for p in watch.flagged
        ],
        "points_considered": len(points),
        "escalating_points": [
            {
                "point": names.get(p["point_id"], str(p["point_id"])),
                "first_override_rate": p["first"]["override_rate"],
                "second_override_rate": p["second"]["override_rate"],
                "first_decisions": p["first"]["decisions"],
                "second_decisions": p["second"]["decisions"],
                "first_bad_outcome_rate": p["first"]["bad_outcome_rate"],
                "second_bad_outcome_rate": p["second"]["bad_outcome_rate"],
                "first_mean_effort": p["first"]["mean_effort"],
                "second_mean_effort": p["second"]["mean_effort"],
            }
            for p in flagged_points
        ],
    }


def _rate(value: float | None) -> str:
    """The one rounding rule of every report ("71.4 %"), so this section matches the others."""
    return percent(value)


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def _effort(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def bias_display(bias: dict) -> dict:
    """The section's rows as the report prints them (every number in them is in `bias`)."""
    rules = bias["rules"]
    return {
        "bias_rules": {
            "agreement": _rate(rules["agreement_at_least"]),
            "speed": _rate(rules["speed_ratio_at_most"]),
            "rise": f"{rules['rise_at_least'] * 100:.0f}",
        },
        "bias_peer_median": _minutes(bias["peer_median_seconds"]),
        "bias_reviewers": [
            {
                "reviewer": row["reviewer"],
                "decisions": row["decisions"],
                "agreed": f"{row['agreed']} ({_rate(row['agreement_rate'])})",
                "median": _minutes(row["median_seconds"]),
            }
            for row in bias["rubber_stamping"]
        ],
        "bias_points": [
            {
                "point": row["point"],
                "overrides": f"{_rate(row['first_override_rate'])} → "
                f"{_rate(row['second_override_rate'])}",
                "decisions": f"{row['first_decisions']} / {row['second_decisions']}",
                "bad": f"{_rate(row['first_bad_outcome_rate'])} → "
                f"{_rate(row['second_bad_outcome_rate'])}",
                "effort": f"{_effort(row['first_mean_effort'])} → "
                f"{_effort(row['second_mean_effort'])}",
            }
            for row in bias["escalating_points"]
        ],
    }
