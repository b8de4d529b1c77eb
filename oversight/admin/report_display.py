"""How reports read to a person: labelled parameters, sizes in KB/MB, safe short file names.

The parameters are stored as validated JSON (slugs, ISO dates); people read names and dates.
File names are built from short safe parts (type, system slug, dates, short ids), never cut:
a title typed by someone can be long and contain anything.
"""

import datetime

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from oversight.models import ReportKind

FILE_KIND = {
    ReportKind.OVERSIGHT: "oversight-report",
    ReportKind.AUTHORITY: "authority-register",
    ReportKind.LITERACY: "ai-literacy-register",
    ReportKind.DOSSIER: "case-dossier",
    ReportKind.INCIDENT: "serious-incident",
}
FILE_PART_MAX = 40


def human_size(size: int | None) -> str:
    """Bytes as a person reads them: 812 bytes, 412 KB, 1.4 MB (1 KB = 1024 bytes)."""
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _day(value) -> str:
    try:
        return date_format(datetime.date.fromisoformat(str(value)), "j M Y")
    except ValueError:
        return str(value)


def parameter_items(
    kind: str, params: dict, *, system_name: str | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs of a report's parameters; `system_name` replaces the slug if known."""
    params = params or {}
    items = []
    system = params.get("system")
    if system:
        items.append(("AI system", f"{system_name} ({system})" if system_name else system))
    if params.get("start") or params.get("end"):
        items.append(("Period", f"{_day(params.get('start'))} – {_day(params.get('end'))}"))
    if params.get("as_of"):
        items.append(("As of", f"end of {_day(params['as_of'])}"))
    if kind == ReportKind.LITERACY:
        if not system:
            items.append(("AI system", "all"))
        items.append(("Team", params.get("team") or "all"))
    if params.get("case"):
        items.append(("Case", str(params["case"])[:8]))
    if params.get("incident"):
        items.append(("Incident", f"No. {params['incident']}, {params.get('stage', 'initial')}"))
    return items


def parameters_html(kind: str, params: dict, *, system_name: str | None = None):
    """The parameters as a small labelled list (HTML-escaped: names come from people)."""
    items = parameter_items(kind, params, system_name=system_name)
    if not items:
        return "-"
    return format_html(
        '<dl class="report-params">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", items),
    )


def _part(value) -> str:
    return slugify(str(value or ""))[:FILE_PART_MAX].strip("-")


def report_filename(report) -> str:
    """E.g. oversight-report_support-assistant_2026-09-01_2026-09-30_d2073b08.pdf.

    Only ASCII letters, digits, dashes and underscores; each part is short by construction
    (slugs, ISO dates, 8-character ids), so the name as a whole is never cut.
    """
    params = report.params or {}
    parts = [FILE_KIND.get(report.kind, _part(report.kind) or "report")]
    if report.kind == ReportKind.OVERSIGHT:
        parts += [_part(params.get("system")), params.get("start"), params.get("end")]
    elif report.kind == ReportKind.AUTHORITY:
        parts += [params.get("as_of")]
    elif report.kind == ReportKind.LITERACY:
        parts += [params.get("as_of"), _part(params.get("system")), _part(params.get("team"))]
    elif report.kind == ReportKind.DOSSIER:
        parts += ["case-" + _part(str(params.get("case", ""))[:8])]
    elif report.kind == ReportKind.INCIDENT:
        parts += [f"no-{_part(params.get('incident'))}", _part(params.get("stage"))]
    parts = [_part(part) for part in parts]
    parts.append(str(report.pk)[:8])
    return "_".join(part for part in parts if part) + ".pdf"
