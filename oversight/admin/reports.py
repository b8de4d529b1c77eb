"""Admin for PDF evidence reports: request one, follow its progress, download what was issued.

A report request is added through a form in front of `request_report` (the service checks the
permission and the parameters; a task renders the PDF), and is otherwise read-only: its change
page shows the progress and reloads itself until the report is done or failed. Issued reports
are insert-only evidence: view-only here, with a download of the exact stored bytes.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from oversight.admin.common import EvidenceMixin, ScopedAdminMixin, ViewOnlyAdmin, json_display
from oversight.exceptions import DomainError
from oversight.models import (
    AISystem,
    IssuedReport,
    ReportKind,
    ReportRequest,
    ReportStatus,
    RequestedVia,
)
from oversight.services.reports import record_download, request_report

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportRequestForm(forms.Form):
    """The report type and, of the other fields, those that type needs (checked in `clean`)."""

    kind = forms.ChoiceField(choices=ReportKind.choices, label="Report type")
    ai_system = forms.ModelChoiceField(
        queryset=AISystem.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        label="AI system",
        help_text="Oversight report: the system it is about. AI-literacy register: optional, "
        "only the people overseeing it.",
    )
    start = forms.DateField(
        required=False, widget=DATE_INPUT, label="Period from", help_text="Oversight report."
    )
    end = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label="Period to",
        help_text="Oversight report; the day itself is included.",
    )
    as_of = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label="As of",
        help_text="Authority and AI-literacy registers: the day (its end) the register shows.",
    )
    team = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"),
        to_field_name="name",
        required=False,
        help_text="AI-literacy register: optional, only members of this team.",
    )
    case = forms.UUIDField(
        required=False, label="Case id", help_text="Case dossier: the case's id (a UUID)."
    )

    REQUIRED = {
        ReportKind.OVERSIGHT: {
            "ai_system": "Choose the AI system the oversight report is about.",
            "start": "Give the first day of the period.",
            "end": "Give the last day of the period.",
        },
        ReportKind.AUTHORITY: {"as_of": "Give the day the authority register shows."},
        ReportKind.LITERACY: {"as_of": "Give the day the AI-literacy register shows."},
        ReportKind.DOSSIER: {"case": "Give the id of the case."},
    }

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        for name, message in self.REQUIRED[kind].items():
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, message)
        start, end = data.get("start"), data.get("end")
        if kind == ReportKind.OVERSIGHT and start and end and end < start:
            self.add_error("end", "The period must end on or after its first day.")
        return data

    def report_params(self) -> dict:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == ReportKind.OVERSIGHT:
            return {
                "system": data["ai_system"].slug,
                "start": data["start"].isoformat(),
                "end": data["end"].isoformat(),
            }
        if kind == ReportKind.AUTHORITY:
            return {"as_of": data["as_of"].isoformat()}
        if kind == ReportKind.LITERACY:
            return {
                "as_of": data["as_of"].isoformat(),
                "system": data["ai_system"].slug if data["ai_system"] else None,
                "team": data["team"].name if data["team"] else None,
            }
        return {"case": str(data["case"])}


def describe_params(params: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in params.items() if value not in (None, ""))


def progress_bar(request: ReportRequest):
    return format_html(
        '<progress value="{}" max="100" title="{}">{} %</progress> {} %',
        request.progress,
        request.progress_message,
        request.progress,
        request.progress,
    )


def download_url(report_id) -> str:
    return reverse("admin:oversight_issuedreport_download", args=[report_id])


@admin.register(ReportRequest)
class ReportRequestAdmin(ScopedAdminMixin, EvidenceMixin, admin.ModelAdmin):
    list_display = [
        "requested_at",
        "kind",
        "parameters",
        "status",
        "progress_display",
        "requested_by",
        "requested_via",
        "download",
    ]
    list_filter = ["kind", "status", "requested_via"]
    list_select_related = ["requested_by"]
    date_hierarchy = "requested_at"
    readonly_fields = ["parameters", "progress_display", "download", "params_json"]
    fieldsets = [
        (None, {"fields": ["kind", "params_json", "requested_by", "requested_via"]}),
        (
            "Progress",
            {
                "fields": [
                    "requested_at",
                    "status",
                    "progress_display",
                    "progress_message",
                    "started_at",
                    "finished_at",
                    "error",
                ]
            },
        ),
        ("Report", {"fields": ["report_id", "download"]}),
    ]

    params_json = json_display("params")

    @admin.display(description="parameters")
    def parameters(self, obj):
        return describe_params(obj.params)

    @admin.display(description="progress")
    def progress_display(self, obj):
        return progress_bar(obj)

    @admin.display(description="report")
    def download(self, obj):
        if obj.status != ReportStatus.DONE:
            return "-"
        return format_html('<a href="{}">Download PDF</a>', download_url(obj.report_id))

    def has_add_permission(self, request):
        return request.user.has_perm("oversight.add_reportrequest")

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = [field.name for field in self.model._meta.get_fields() if field.concrete]
        return [*fields, *self.readonly_fields]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ReportRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                report_request = request_report(
                    user=request.user,
                    kind=form.cleaned_data["kind"],
                    params=form.report_params(),
                    via=RequestedVia.ADMIN,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Requested: {report_request.get_kind_display()}. It is being generated; "
                    "this page shows its progress.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:oversight_reportrequest_change", args=[report_request.pk])
                )
        return TemplateResponse(
            request,
            "admin/oversight/reportrequest/request_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Request a report",
                "form": form,
            },
        )


@admin.register(IssuedReport)
class IssuedReportAdmin(ViewOnlyAdmin):
    list_display = [
        "generated_at",
        "title",
        "subtitle",
        "kind",
        "requested_by",
        "page_count",
        "size",
        "short_sha256",
        "download",
    ]
    list_filter = ["kind", "generated_at"]
    list_select_related = ["requested_by"]
    search_fields = ["=sha256", "title"]
    readonly_fields = ["download", "params_json"]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "kind", "params_json", "request"]}),
        ("Issued", {"fields": ["generated_at", "requested_by", "download"]}),
        (
            "Fingerprints",
            {
                "fields": [
                    "sha256",
                    "size",
                    "page_count",
                    "data_sha256",
                    "ledger_sequence",
                    "ledger_hash",
                ]
            },
        ),
    ]

    params_json = json_display("params")

    @admin.display(description="SHA-256")
    def short_sha256(self, obj):
        return format_html('<code title="{}">{}…</code>', obj.sha256, obj.sha256[:12])

    @admin.display(description="PDF")
    def download(self, obj):
        return format_html('<a href="{}">Download</a>', download_url(obj.pk))

    def get_queryset(self, request):
        # The PDF bytes are read only by the download.
        return super().get_queryset(request).defer("content")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:report_id>/download/",
                view(self.download_view),
                name="oversight_issuedreport_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, report_id):
        if not request.user.has_perm("oversight.view_issuedreport"):
            raise PermissionDenied
        # Through the admin's own (scoped) queryset, like every page naming a report; the
        # queryset defers the bytes, read here once.
        report = self.scoped_object(request, report_id)
        record_download(user=request.user, report=report)
        response = HttpResponse(bytes(report.content), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=report_filename(report)
        )
        return response


def report_filename(report: IssuedReport) -> str:
    """ASCII letters, digits and dashes only: the title comes from data people typed."""
    parts = [slugify(report.title)[:60] or report.kind, slugify(report.subtitle)[:40]]
    parts.append(str(report.pk)[:8])
    return "-".join(part for part in parts if part) + ".pdf"
