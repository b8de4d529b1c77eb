"""Threshold calibration and the oversight watch, two admin pages next to the dashboard.

/admin/oversight/calibration/: for every active judgement point with a "confidence is below x"
condition, how often people changed the AI's answer per confidence band (its routed cases plus
its journey's sample audits), the lowest threshold that keeps the error under a target the
manager sets, and the work that threshold would save. A manager of the journey may apply it
(POST with a note, through `apply_threshold`); nothing is ever applied on viewing.

/admin/oversight/oversight-watch/: reviewers whose pattern suggests rubber-stamping and points
whose overrides rise while outcomes do not improve, each with its evidence, for review.

Both for the dashboard's audience (`oversight.view_all_cases`, superusers); a fixed number of
queries whatever the number of cases.
"""

import uuid
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from oversight.admin.dashboard import (
    DEFAULT_DAYS,
    MAX_DAYS,
    _days,
    _percent,
    bar_svg,
    may_view_dashboard,
)
from oversight.exceptions import DomainError
from oversight.metrics import Period, automation_bias_watch, escalating_points
from oversight.metrics.analytic_queries import analytic_queries
from oversight.models import JudgementPoint
from oversight.services.authority import journeys_managed_by
from oversight.services.calibration import (
    MIN_BAND_CASES,
    apply_threshold,
    bands_by_point,
    confidence_conditions,
    expected_error,
    suggest,
    workload_saved,
)

DEFAULT_TARGET_PERCENT = 5.0
DAY_CHOICES = [7, 30, 90, 365]
# The watch's thresholds, shown on the page with the flags they raise.
BIAS_RULE = {"min_decisions": 20, "agreement_at_least": 0.95, "speed_ratio_at_most": 0.25}
ESCALATION_RULE = {"min_decisions": 10, "rise_at_least": 0.10}


def _target_percent(raw) -> float:
    """The target error rate in percent from a form value: 0 to 99.9, else the default."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return DEFAULT_TARGET_PERCENT
    if not 0 <= value < 100:
        return DEFAULT_TARGET_PERCENT
    return value


def _threshold_text(value) -> str:
    return "–" if value is None else f"{value:g}"


# --- calibration -----------------------------------------------------------------------------


@analytic_queries()
def calibration_context(*, user, days: int, target_percent: float, now=None) -> dict:
    """Every confidence condition with its bands, suggestion and saving (fixed query count)."""
    period = Period.last_days(days, now=now or timezone.now())
    target_rate = target_percent / 100
    conditions = list(confidence_conditions().filter(judgement_point__is_active=True))
    points = list({c.judgement_point_id: c.judgement_point for c in conditions}.values())
    bands = bands_by_point(period=period, points=points)
    suggestions = {
        c: suggest(bands[c.judgement_point_id], target_rate=target_rate) for c in conditions
    }
    saved = workload_saved(period=period, thresholds=suggestions)
    managed = set()
    if user.has_perm("oversight.change_judgementpoint"):
        managed = set(journeys_managed_by(user).values_list("pk", flat=True))
    rows = []
    for condition in conditions:
        point = condition.judgement_point
        point_bands = bands[point.pk]
        suggestion = suggestions[condition]
        routed, no_longer = saved.get(point.pk, (0, 0))
        if suggestion is not None and suggestion >= _as_number(condition.value):
            no_longer = 0  # a higher threshold sends more to people, never fewer
        rows.append(
            {
                "condition": condition,
                "point": point,
                "current": _threshold_text(condition.value),
                "bands": [
                    {
                        "band": band,
                        "label": f"{band.low:g}–{band.high:g}",
                        "rate": _percent(band.override_rate),
                        "counted": band.cases >= MIN_BAND_CASES,
                    }
                    for band in point_bands
                ],
                "bands_svg": bar_svg(
                    [(f"{band.low:g}–{band.high:g}", band.override_rate) for band in point_bands]
                ),
                "suggestion": suggestion,
                # Why there is none, in the page's words: no band has enough cases to judge.
                "too_few_cases": all(band.cases < MIN_BAND_CASES for band in point_bands),
                "suggestion_text": _threshold_text(suggestion),
                "error_now": _percent(expected_error(point_bands, _as_number(condition.value))),
                "error_suggested": _percent(expected_error(point_bands, suggestion)),
                "routed": routed,
                "no_longer_routed": no_longer,
                "saved_share": _percent(no_longer / routed if routed else None),
                "may_apply": point.journey_id in managed
                and suggestion is not None
                and suggestion != _as_number(condition.value),
                "history_url": reverse("admin:oversight_judgementpoint_history", args=[point.pk]),
                "change_url": reverse("admin:oversight_judgementpoint_change", args=[point.pk]),
            }
        )
    return {
        "period": period,
        "days": days,
        "target_percent": target_percent,
        "min_band_cases": MIN_BAND_CASES,
        "rows": rows,
    }


def _as_number(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _page_url(days, target_percent) -> str:
    query = urlencode({"days": days, "target": f"{target_percent:g}"})
    return f"{reverse('admin:oversight_calibration')}?{query}"


def _apply(request):
    """The Apply button: one condition, the suggested threshold, the target and a note."""
    days = _posted_days(request.POST.get("days"))
    target_percent = _target_percent(request.POST.get("target"))
    raw = request.POST.get("condition", "")
    condition = confidence_conditions().filter(pk=raw).first() if _is_uuid(raw) else None
    if condition is None:
        messages.error(request, "That trigger condition does not exist (any more).")
        return redirect(_page_url(days, target_percent))
    try:
        threshold = float(request.POST.get("threshold", ""))
    except ValueError:
        threshold = None
    try:
        condition = apply_threshold(
            user=request.user,
            condition_or_point=condition,
            new_threshold=threshold,
            target_rate=target_percent / 100,
            note=request.POST.get("note", ""),
            period=Period.last_days(days),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        point = JudgementPoint.objects.get(pk=condition.judgement_point_id)
        messages.success(
            request,
            f"{point.name}: the confidence threshold is now {condition.value:g} "
            f"(version {point.version}).",
        )
    return redirect(_page_url(days, target_percent))


def _posted_days(raw) -> int:
    try:
        return min(max(int(raw), 1), MAX_DAYS)
    except (TypeError, ValueError):
        return DEFAULT_DAYS


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def calibration_view(request):
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    if request.method == "POST":
        return _apply(request)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    context = calibration_context(
        user=request.user,
        days=_days(request),
        target_percent=_target_percent(request.GET.get("target", DEFAULT_TARGET_PERCENT)),
    )
    return TemplateResponse(
        request,
        "admin/oversight/calibration.html",
        {
            **admin.site.each_context(request),
            "title": "Threshold calibration",
            "day_choices": DAY_CHOICES,
            **context,
        },
    )


# --- the watch -------------------------------------------------------------------------------


@analytic_queries()
def watch_context(*, days: int, now=None) -> dict:
    """Flagged reviewers and judgement points with their evidence (fixed query count)."""
    period = Period.last_days(days, now=now or timezone.now())
    bias = automation_bias_watch(period=period, **BIAS_RULE)
    points = escalating_points(period=period, **ESCALATION_RULE)
    flagged_points = [row for row in points if row["flagged"]]
    people = get_user_model().objects.in_bulk([p.reviewer_id for p in bias.flagged])
    named_points = JudgementPoint.objects.select_related("journey").in_bulk(
        [row["point_id"] for row in flagged_points]
    )
    peers = bias.peer_median_seconds
    reviewers = [
        {
            "person": people.get(pattern.reviewer_id),
            "pattern": pattern,
            "agreement": _percent(pattern.agreement_rate),
            "speed": _percent(pattern.median_seconds / peers if peers else None),
        }
        for pattern in bias.flagged
    ]
    point_rows = []
    for row in flagged_points:
        point = named_points.get(row["point_id"])
        first, second = row["first"], row["second"]
        point_rows.append(
            {
                "point": point,
                "change_url": reverse("admin:oversight_judgementpoint_change", args=[point.pk])
                if point
                else "",
                "first": first,
                "second": second,
                "first_rate": _percent(first["override_rate"]),
                "second_rate": _percent(second["override_rate"]),
                "rise": f"{row['rise'] * 100:+.1f} points",
                "first_bad": _percent(first["bad_outcome_rate"]),
                "second_bad": _percent(second["bad_outcome_rate"]),
                "first_effort": _effort(first["mean_effort"]),
                "second_effort": _effort(second["mean_effort"]),
            }
        )
    return {
        "period": period,
        "days": days,
        "middle": period.start + (period.end - period.start) / 2,
        "peer_median_seconds": peers,
        "reviewers_considered": len(bias.reviewers),
        "points_considered": len(points),
        "reviewers": reviewers,
        "points": point_rows,
        "bias_rule": {
            "min_decisions": BIAS_RULE["min_decisions"],
            "agreement": _percent(BIAS_RULE["agreement_at_least"]),
            "speed": _percent(BIAS_RULE["speed_ratio_at_most"]),
        },
        "escalation_rule": {
            "min_decisions": ESCALATION_RULE["min_decisions"],
            "rise": f"{ESCALATION_RULE['rise_at_least'] * 100:g}",
        },
    }


def _effort(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def watch_view(request):
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return TemplateResponse(
        request,
        "admin/oversight/watch.html",
        {
            **admin.site.each_context(request),
            "title": "Oversight watch",
            "day_choices": DAY_CHOICES,
            **watch_context(days=_days(request)),
        },
    )


def install(site: admin.AdminSite) -> None:
    """Put both pages' URLs in front of the admin site's own (before its app index)."""
    original = site.get_urls

    def get_urls():
        return [
            path(
                "oversight/calibration/",
                site.admin_view(calibration_view),
                name="oversight_calibration",
            ),
            path("oversight/oversight-watch/", site.admin_view(watch_view), name="oversight_watch"),
            *original(),
        ]

    site.get_urls = get_urls


install(admin.site)
