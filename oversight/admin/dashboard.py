"""The oversight dashboard at /admin/oversight/dashboard/: the figures of `oversight.metrics`.

For managers and compliance officers (`oversight.view_all_cases`) and superusers. The charts are
inline SVG drawn here on the server (no JavaScript, nothing fetched from elsewhere); numbers
link to the Case changelist filtered to the cases behind them (`CaseFigureFilter`).
A fixed number of queries whatever the number of rows: every figure is an aggregation.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from oversight.metrics import (
    Figures,
    Period,
    Scope,
    breakdown,
    calibration_by_confidence,
    cases_behind,
    customer_effort_by_route,
    figures_by,
    time_to_decision,
)
from oversight.metrics.analytic_queries import analytic_queries
from oversight.metrics.definitions import BY_KEY as DEFINITIONS
from oversight.metrics.definitions import percent
from oversight.models import AISystem, Journey, JudgementPoint

DEFAULT_DAYS = 30
MAX_DAYS = 366
SERIES_COLOURS = {"Routed to a person": "#417690", "Override rate": "#ba2121"}


def may_view_dashboard(user) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm("oversight.view_all_cases"))


# --- drill-down ------------------------------------------------------------------------------


def figure_value(figure: str, period: Period, scope_kind: str = "", scope_pk="") -> str:
    """The `figure` parameter of the Case changelist: which cases, which period, which scope."""
    parts = [figure, str(int(period.start.timestamp())), str(int(period.end.timestamp()))]
    if scope_kind:
        parts += [scope_kind, str(scope_pk)]
    return "~".join(parts)


def cases_url(figure: str, period: Period, scope_kind: str = "", scope_pk="") -> str:
    query = urlencode({"figure": figure_value(figure, period, scope_kind, scope_pk)})
    return f"{reverse('admin:oversight_case_changelist')}?{query}"


class CaseFigureFilter(admin.SimpleListFilter):
    """Narrows the Case changelist to the cases behind a dashboard figure."""

    title = "dashboard figure"
    parameter_name = "figure"
    FIGURES = {"decided": "Decided", "overridden": "Overridden", "breached": "SLA breached"}
    SCOPES = {"ai_system": "ai_system", "journey": "journey", "judgement_point": "judgement_point"}

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []
        return [(value, self.FIGURES.get(value.split("~")[0], "Figure"))]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        parts = value.split("~")
        try:
            figure, start, end = parts[0], int(parts[1]), int(parts[2])
            scope = Scope()
            if len(parts) == 5 and parts[3] in self.SCOPES:
                scope = Scope(**{parts[3]: parts[4]})
            period = Period(
                start=datetime.datetime.fromtimestamp(start, tz=datetime.UTC),
                end=datetime.datetime.fromtimestamp(end, tz=datetime.UTC),
            )
            behind = cases_behind(period=period, scope=scope, figure=figure)
        except (ValueError, IndexError, OverflowError):
            return queryset.none()
        return queryset.filter(pk__in=behind.values("pk"))


# --- charts ----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    # The report's rounding rule (oversight.metrics.definitions.percent): one rule everywhere.
    return percent(value)


# The figures the dashboard shows with the oversight report's definitions, in display order.
SHOWN_DEFINITIONS = (
    "gate_calls",
    "routed_share",
    "blocked_share",
    "cases_decided",
    "cases_judged",
    "overrides",
    "override_rate",
    "escalations_all",
    "escalations",
    "sla_escalations",
    "four_eyes_disagreements",
    "escalation_rate",
    "audit_disagreement_rate",
    "time_to_decision",
    "route_automated",
    "route_human",
    "route_overridden",
)


# About 5.5 px a character at 11 px: a label of this length fits the 234 px left of the bars.
LABEL_CHARACTERS = 38


def short_label(text: str, limit: int = LABEL_CHARACTERS) -> str:
    """`text`, or its words up to `limit` characters and "…": never cut inside a word (the
    full text goes in the SVG's <title>, shown on hover)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" /–-,") + "…"


def day_label(day: datetime.date) -> str:
    """E.g. "3 May 2026"."""
    return f"{day.day} {day:%b %Y}"


def trend_svg(days: list[datetime.date], series: dict[str, list[float | None]]) -> str:
    """Rates (0 to 1) per day as polylines; a day without data leaves a gap in its line."""
    width, height, left, bottom, top = 640, 186, 40, 24, 18
    plot_w, plot_h = width - left - 10, height - bottom - top
    step = plot_w / max(len(days) - 1, 1)

    def xy(index: int, value: float) -> str:
        return f"{left + index * step:.1f},{top + plot_h * (1 - value):.1f}"

    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc"/>'
            '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
            left,
            top + plot_h * (1 - tick),
            width - 10,
            top + plot_h * (1 - tick),
            left - 4,
            top + plot_h * (1 - tick) + 3,
            f"{int(tick * 100)} %",
        )
        for tick in (0, 0.5, 1)
    ]
    for name, values in series.items():
        runs, run = [], []
        for index, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(xy(index, value))
        if run:
            runs.append(run)
        for points in runs:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                    " ".join(points),
                    SERIES_COLOURS.get(name, "#333"),
                )
            )
            if len(points) == 1:
                x, y = points[0].split(",")
                parts.append(
                    format_html(
                        '<circle cx="{}" cy="{}" r="2.5" fill="{}"/>',
                        x,
                        y,
                        SERIES_COLOURS.get(name, "#333"),
                    )
                )
    if days:
        # The first day's label starts at the axis and the last one ends at the plot's edge, so
        # neither runs out of the picture.
        ends = [(0, "start"), (len(days) - 1, "end")] if len(days) > 1 else [(0, "start")]
        for index, anchor in ends:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" text-anchor="{}">{}</text>',
                    f"{left + index * step:.1f}",
                    height - 6,
                    anchor,
                    day_label(days[index]),
                )
            )
    legend = format_html_join(
        "",
        '<tspan fill="{}" dx="12">■ {}</tspan>',
        ((SERIES_COLOURS.get(name, "#333"), name) for name in series),
    )
    parts.append(format_html('<text x="{}" y="{}" font-size="11">{}</text>', left, 12, legend))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="Daily trend">{}</svg>',
        width,
        height,
        width,
        height,
        mark_safe("".join(parts)),  # each part built by format_html
    )


def bar_svg(
    rows: list[tuple[str, float | None]], *, title: str = "Override rate per judgement point"
) -> str:
    """Horizontal bars of rates (0 to 1), one per labelled row; `title` names the chart."""
    width, label_w, bar_h, gap = 640, 240, 16, 6
    plot_w = width - label_w - 70
    parts = []
    for index, (label, value) in enumerate(rows):
        y = index * (bar_h + gap)
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="end"><title>{}</title>{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#ba2121"/>'
                '<text x="{}" y="{}" font-size="11">{}</text>',
                label_w - 6,
                y + bar_h - 4,
                label,
                short_label(label),
                label_w,
                y,
                f"{plot_w * (value or 0):.1f}",
                bar_h,
                f"{label_w + plot_w * (value or 0) + 4:.1f}",
                y + bar_h - 4,
                _percent(value),
            )
        )
    height = max(len(rows), 1) * (bar_h + gap)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}">{}</svg>',
        width,
        height,
        width,
        height,
        title,
        mark_safe("".join(parts)),  # each part built by format_html
    )


# --- the view --------------------------------------------------------------------------------


def _days(request) -> int:
    try:
        return min(max(int(request.GET.get("days", DEFAULT_DAYS)), 1), MAX_DAYS)
    except ValueError:
        return DEFAULT_DAYS


def _row(label: str, item: Figures, period: Period, kind: str, pk) -> dict:
    return {
        "label": label,
        "figures": item,
        "routed_share": _percent(item.routed_share),
        "blocked_share": _percent(item.blocked_share),
        "override_rate": _percent(item.override_rate),
        "escalation_rate": _percent(item.escalation_rate),
        "audit_disagreement_rate": _percent(item.audit_disagreement_rate),
        "repeat_contact_rate": _percent(item.repeat_contact_rate),
        "decided_url": cases_url("decided", period, kind, pk),
        "overridden_url": cases_url("overridden", period, kind, pk),
        "breached_url": cases_url("breached", period, kind, pk),
    }


@analytic_queries()
def dashboard_context(*, days: int, ai_system: AISystem | None, now=None) -> dict:
    """Everything the dashboard shows, as plain data (a fixed number of queries)."""
    now = now or timezone.now()
    period = Period.last_days(days, now=now)
    scope = Scope(ai_system=ai_system)
    figures_of = breakdown(period=period, scope=scope)
    overall, by_system, by_journey, by_day = (
        figures_of.overall,
        figures_of.ai_system,
        figures_of.journey,
        figures_of.day,
    )
    journeys = Journey.objects.select_related("ai_system")
    systems = AISystem.objects.all()
    points = JudgementPoint.objects.select_related("journey")
    if ai_system is not None:
        journeys = journeys.filter(ai_system=ai_system)
        systems = systems.filter(pk=ai_system.pk)
        points = points.filter(journey__ai_system=ai_system)
    # The chart shows each point's override rate: its decisions are all it needs.
    by_point = figures_by("judgement_point", period=period, scope=scope, only=("decision",))
    days_list = period.days()
    empty = Figures()
    point_rows = [
        (f"{point.journey.name} / {point.name}", by_point[point.pk].override_rate)
        for point in points
        if point.pk in by_point and by_point[point.pk].live_decisions
    ]
    effort = customer_effort_by_route(period=period, scope=scope)
    bands = [
        (f"confidence {band.low:.1f}–{band.high:.1f} ({band.cases})", band.override_rate)
        for band in calibration_by_confidence(period=period, scope=scope)
    ]
    return {
        "period": period,
        "days": days,
        "overall": _row(
            "All", overall, period, "ai_system" if ai_system else "", getattr(ai_system, "pk", "")
        ),
        "time_to_decision": time_to_decision(period=period, scope=scope),
        "effort": effort,
        "systems": [
            _row(system.name, by_system.get(system.pk, empty), period, "ai_system", system.pk)
            for system in systems
        ],
        "journeys": [
            _row(str(journey), by_journey.get(journey.pk, empty), period, "journey", journey.pk)
            for journey in journeys
        ],
        "trend_svg": trend_svg(
            days_list,
            {
                "Routed to a person": [
                    by_day[day].routed_share if day in by_day else None for day in days_list
                ],
                "Override rate": [
                    by_day[day].override_rate if day in by_day else None for day in days_list
                ],
            },
        ),
        "bars_svg": bar_svg(point_rows),
        "bands_svg": bar_svg(bands, title="Override rate per AI confidence band"),
        "has_bands": bool(bands),
        "has_points": bool(point_rows),
        "definitions": {key: DEFINITIONS[key] for key in SHOWN_DEFINITIONS},
    }


def dashboard_view(request):
    if not may_view_dashboard(request.user):
        raise PermissionDenied
    ai_systems = list(AISystem.objects.only("pk", "name").order_by("name"))
    chosen = next((s for s in ai_systems if str(s.pk) == request.GET.get("ai_system")), None)
    context = dashboard_context(days=_days(request), ai_system=chosen)
    return TemplateResponse(
        request,
        "admin/oversight/dashboard.html",
        {
            **admin.site.each_context(request),
            "title": "Oversight dashboard",
            "ai_systems": ai_systems,
            "chosen": chosen,
            "day_choices": [7, 30, 90, 365],
            **context,
        },
    )


def install(site: admin.AdminSite) -> None:
    """Put the dashboard's URL in front of the admin site's own (before its app index)."""
    original = site.get_urls

    def get_urls():
        dashboard = path(
            "oversight/dashboard/", site.admin_view(dashboard_view), name="oversight_dashboard"
        )
        return [dashboard, *original()]

    site.get_urls = get_urls


install(admin.site)
