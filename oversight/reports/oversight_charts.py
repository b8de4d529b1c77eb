"""The oversight report's trend chart: rates per day or week as inline SVG (vector, no fetch).

The dashboard's chart (`oversight.reports.charts.trend_chart`) is sized for the screen: its last
date label runs off the right edge and its legend sits on the 100 % line at A4 width. This one
keeps margins for both, marks buckets with a single value as dots, and labels weeks. Built from
numbers only; every text goes through `format_html`.
"""

import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

COLOURS = {"Routed to a person": "#417690", "Override rate": "#ba2121"}
WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 36, 12, 44


def _n(value: float) -> str:
    return f"{value:.1f}"


def rate_trend_svg(
    buckets: list[datetime.date], series: dict[str, list[float | None]], *, label: str
) -> SafeString:
    """Lines of rates (0 to 1) over the buckets; a bucket without a value leaves a gap."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(buckets) - 1, 1)

    def x(index: int) -> float:
        return LEFT + index * step if len(buckets) > 1 else LEFT + plot_w / 2

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value)

    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="0.6"/>'
            '<text x="{}" y="{}" font-size="9" text-anchor="end" fill="#4a5866">{}</text>',
            LEFT,
            _n(y(tick)),
            WIDTH - RIGHT,
            _n(y(tick)),
            "#9aa5b1" if tick == 0 else "#d5dbe1",
            LEFT - 5,
            _n(y(tick) + 3),
            f"{int(tick * 100)}%",
        )
        for tick in (0, 0.25, 0.5, 0.75, 1)
    ]
    if buckets:
        shown = sorted({0, len(buckets) // 2, len(buckets) - 1})
        parts += [
            format_html(
                '<text x="{}" y="{}" font-size="9" text-anchor="middle" fill="#4a5866">{}</text>',
                _n(x(index)),
                TOP + plot_h + 13,
                buckets[index].isoformat(),
            )
            for index in shown
        ]
    for name, values in series.items():
        colour = COLOURS.get(name, "#333")
        runs, run = [], []
        for index, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x(index), y(value)))
        if run:
            runs.append(run)
        for points in runs:
            if len(points) > 1:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6"/>',
                        " ".join(f"{_n(px)},{_n(py)}" for px, py in points),
                        colour,
                    )
                )
            parts += [
                format_html('<circle cx="{}" cy="{}" r="1.8" fill="{}"/>', _n(px), _n(py), colour)
                for px, py in points
            ]
    parts.append(
        format_html(
            '<text x="{}" y="{}" font-size="10">{}</text>',
            LEFT,
            HEIGHT - 6,
            format_html_join(
                "",
                '<tspan fill="{}">■ </tspan><tspan fill="#1d2228">{}   </tspan>',
                ((COLOURS.get(name, "#333"), name) for name in series),
            ),
        )
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}">{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        label,
        mark_safe("".join(parts)),  # each part built by format_html
    )
