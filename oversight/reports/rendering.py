"""The shared pipeline that turns stored report parameters into a PDF.

A builder (one per kind of report) reads the database through the selectors, aggregates, and
returns a `ReportDocument`: the template, its context, and the figures the report was computed
from. `render_report` fingerprints those figures, notes the audit ledger head, renders the
template with Django and the HTML with WeasyPrint through a fetcher limited to the product's
static files (`oversight.reports.fetcher`). The same parameters give the same report.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import weasyprint
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services.ledger import ledger_head, seal_pending
from oversight.metrics.analytic_queries import analytic_queries
from oversight.reports.fetcher import BASE_URL, StaticFilesURLFetcher

AUTHOR = "HITL Oversight"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportParameterError(ValueError):
    """Parameters that name nothing we hold (unknown slug or case) or are malformed."""


@dataclass(frozen=True)
class ReportDocument:
    """What a builder returns: everything needed to draw one report."""

    template: str
    title: str
    subtitle: str  # the period or as-of label, shown in the running header
    context: dict
    data: dict  # JSON-serialisable figures the report was computed from (fingerprinted)
    toc: list[tuple[str, str]] = field(default=())  # (anchor id, heading)


@dataclass(frozen=True)
class RenderedReport:
    pdf: bytes
    title: str
    subtitle: str
    page_count: int
    data_sha256: str
    ledger_sequence: int
    ledger_hash: str


class _LazyBuilder:
    """A builder named by its dotted path, imported on first call.

    Builders live in modules written separately; the registry must load before all of them do.
    """

    def __init__(self, dotted_path: str):
        self.dotted_path = dotted_path

    def __call__(self, params: dict, *, progress: Callable[[int, str], None]) -> ReportDocument:
        return import_string(self.dotted_path)(params, progress=progress)

    def __repr__(self) -> str:
        return f"<builder {self.dotted_path}>"


BUILDERS: dict[str, Callable[..., ReportDocument]] = {
    "oversight": _LazyBuilder("oversight.reports.oversight_report.build"),
    "authority": _LazyBuilder("oversight.reports.registers.build_authority"),
    "literacy": _LazyBuilder("oversight.reports.registers.build_literacy"),
    "dossier": _LazyBuilder("oversight.reports.dossier.build_dossier"),
    "incident": _LazyBuilder("oversight.reports.incident_report.build_incident_report"),
    "go_live": _LazyBuilder("oversight.reports.golive.build_go_live"),
}


def data_fingerprint(data: dict) -> str:
    """SHA-256 of the canonical JSON of a report's figures (sorted keys, no whitespace)."""
    canonical = json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _no_progress(percent: int, message: str) -> None:
    pass


def render_report(
    kind: str,
    params: dict,
    *,
    report_id: str,
    generated_at: datetime.datetime,
    progress: Callable[[int, str], None] | None = None,
) -> RenderedReport:
    """Build, render and return one report as PDF bytes with its fingerprints.

    Raises ReportParameterError for an unknown kind or parameters the builder refuses. The
    ledger head is read in the same transaction as the figures, so on databases that give a
    transaction one snapshot (SQLite; PostgreSQL at REPEATABLE READ) it is exactly the head the
    figures saw; elsewhere it is the head when collection started. Events recorded but not yet
    chained (a case opening's, for milliseconds) are sealed first, so the head covers them.
    """
    progress = progress or _no_progress
    builder = BUILDERS.get(kind)
    if builder is None:
        raise ReportParameterError(f"There is no report of kind {kind!r}.")
    if not isinstance(params, dict):
        raise ReportParameterError("Report parameters must be a mapping.")
    progress(5, "Collecting data")
    seal_pending()
    # Its figures are planned for their period and sort in memory (`analytic_queries`).
    with transaction.atomic(), analytic_queries():
        ledger_sequence, ledger_hash = ledger_head()
        document = builder(params, progress=progress)
    data_sha256 = data_fingerprint(document.data)
    progress(60, "Rendering the PDF")
    context = {
        **document.context,
        "toc": list(document.toc),
        "report": {
            "id": str(report_id),
            "kind": kind,
            "title": document.title,
            "subtitle": document.subtitle,
            "generated_at": generated_at,
            "generated_at_iso": timezone.localtime(generated_at).isoformat(timespec="seconds"),
            "ledger_sequence": ledger_sequence,
            "ledger_hash": ledger_hash,
            "data_sha256": data_sha256,
            "author": AUTHOR,
        },
    }
    html = render_to_string(document.template, context)
    rendered = weasyprint.HTML(
        string=html, base_url=BASE_URL, url_fetcher=StaticFilesURLFetcher()
    ).render()
    # custom_metadata: the report id goes into the PDF's Info as /hitlreportid (base.html), so
    # a copy names its report even after another tool re-saved it (verify_report).
    pdf = rendered.write_pdf(custom_metadata=True)
    progress(100, "Done")
    return RenderedReport(
        pdf=pdf,
        title=document.title,
        subtitle=document.subtitle,
        page_count=len(rendered.pages),
        data_sha256=data_sha256,
        ledger_sequence=ledger_sequence,
        ledger_hash=ledger_hash,
    )


# --- helpers for builders --------------------------------------------------------------------


def parse_day(params: dict, key: str, *, label: str | None = None) -> datetime.date:
    """A required "YYYY-MM-DD" parameter as a date, or ReportParameterError."""
    value = params.get(key)
    label = label or key
    if not value:
        raise ReportParameterError(f"The {label} date is required (YYYY-MM-DD).")
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ReportParameterError(f"The {label} date {str(value)[:40]!r} is not YYYY-MM-DD.")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ReportParameterError(f"The {label} date {value!r} is not a calendar date.") from None


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The last instant of `day` in the project time zone, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))
