"""Charts for PDF reports: the dashboard's server-side SVG, embedded inline by WeasyPrint.

The admin dashboard already draws its charts as SVG built from numbers only, with every label
escaped by `format_html`; the reports reuse that code so a figure looks the same on screen and
on paper. Inline SVG is vector output and fetches nothing.
"""

import re

from django.utils.safestring import SafeString, mark_safe

from oversight.admin.dashboard import bar_svg, trend_svg

__all__ = ["bar_chart", "trend_chart"]

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_DASHBOARD_BAR_FILL = 'fill="#ba2121"'


def trend_chart(days, series: dict[str, list[float | None]]) -> SafeString:
    """Rates (0 to 1) per day as lines; a day without data leaves a gap (the dashboard's chart)."""
    return trend_svg(days, series)


def bar_chart(
    rows: list[tuple[str, float | None]], *, label: str, colour: str = "#ba2121"
) -> SafeString:
    """Horizontal bars of rates (0 to 1), one per labelled row, named `label` for readers.

    The dashboard's `bar_svg`, named `label` and with its bar colour replaced: red suits a rate
    that should stay low, not a share that should be high. `colour` must be a #rrggbb value.
    """
    if not _HEX_COLOUR.fullmatch(colour):
        raise ValueError("colour must be written #rrggbb")
    # The dashboard's chart shortens a long label at a word boundary, visibly ("…"), with the
    # whole label in its <title>. The table beside every chart prints the name whole.
    svg = str(bar_svg(rows, title=label))
    return mark_safe(svg.replace(_DASHBOARD_BAR_FILL, f'fill="{colour}"'))
