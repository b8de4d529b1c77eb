"""Admin for PDF evidence reports: order one, follow its progress, download and verify.

Each report type has its own small form in front of `request_report` (the service checks the
permission and the parameters; a task renders the PDF); a request is otherwise read-only: its
change page shows the progress at the top and reloads itself until the report is done (then
the Download and Verify buttons sit there) or failed. Issued reports are insert-only evidence:
view-only here, with a download of the exact stored bytes and a "Verify a PDF" page that gives
`manage.py verify_report`'s verdict on an uploaded copy and records the check in the ledger.
"""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from audit.local_time import local_time
from oversight.admin.common import EvidenceMixin, ScopedAdminMixin, ViewOnlyAdmin
from oversight.admin.report_display import (
    human_size,
    parameter_items,
    parameters_html,
    report_filename,
)
from oversight.admin.report_forms import ORDER_FORMS, CaseDossierForm, search_cases
from oversight.admin.report_verify import ReportVerifyMixin
from oversight.exceptions import DomainError
from oversight.models import (
    AISystem,
    Case,
    IssuedReport,
    ReportRequest,
    ReportStatus,
    RequestedVia,
)
from oversight.services.authority.wording import person_name
from oversight.services.reports import record_download, request_report

ADMIN_MEDIA = forms.Media(
    css={"all": ["oversight/admin/reports.css"]}, js=["oversight/admin/copy.js"]
)


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


def verify_url() -> str:
    return reverse("admin:oversight_issuedreport_verify")


def order_url(kind: str) -> str:
    return reverse(f"admin:oversight_reportrequest_order_{kind}")


def report_buttons(report_id):
    """The two actions people come to a finished report for, as labelled buttons."""
    return format_html(
        '<span class="report-actions"><a class="button" href="{}">Download PDF</a> '
        '<a class="button" href="{}">Verify a copy</a></span>',
        download_url(report_id),
        verify_url(),
    )


def with_system_names(queryset):
    """Annotates `system_name` from the parameters' slug, in the same query as the rows."""
    return queryset.annotate(
        _system_slug=KeyTextTransform("system", "params"),
        system_name=Subquery(
            AISystem.objects.filter(slug=OuterRef("_system_slug")).values("name")[:1]
        ),
    )


@admin.register(ReportRequest)
class ReportRequestAdmin(ScopedAdminMixin, EvidenceMixin, admin.ModelAdmin):
    # Four columns, so the list fits 1366 px beside the navigation and the filters.
    list_display = ["requested", "report", "state", "download"]
    list_filter = ["kind", "status", "requested_via"]
    list_select_related = ["requested_by"]
    date_hierarchy = "requested_at"
    readonly_fields = ["parameters", "progress_display", "download"]
    fieldsets = [
        (None, {"fields": ["kind", "parameters", "requested_by", "requested_via"]}),
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

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    @admin.display(description="parameters")
    def parameters(self, obj):
        return parameters_html(obj.kind, obj.params, system_name=getattr(obj, "system_name", None))

    @admin.display(description="requested", ordering="requested_at")
    def requested(self, obj):
        by = person_name(obj.requested_by) if obj.requested_by else "-"
        return format_html(
            '{}<br><span class="report-subtitle">by {} · {}</span>',
            local_time(obj.requested_at),
            by,
            obj.get_requested_via_display(),
        )

    @admin.display(description="report", ordering="kind")
    def report(self, obj):
        return format_html(
            '<span class="report-title">{}</span>{}',
            obj.get_kind_display(),
            self.parameters(obj),
        )

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        if obj.status in (ReportStatus.QUEUED, ReportStatus.RUNNING):
            return format_html("{}<br>{}", obj.get_status_display(), progress_bar(obj))
        return obj.get_status_display()

    @admin.display(description="progress")
    def progress_display(self, obj):
        return progress_bar(obj)

    @admin.display(description="report")
    def download(self, obj):
        if obj.status != ReportStatus.DONE:
            return "-"
        return format_html(
            '<a class="button" href="{}">Download PDF</a>', download_url(obj.report_id)
        )

    def get_queryset(self, request):
        return with_system_names(super().get_queryset(request))

    def has_add_permission(self, request):
        return request.user.has_perm("oversight.add_reportrequest")

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = [field.name for field in self.model._meta.get_fields() if field.concrete]
        return [*fields, *self.readonly_fields]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            # One URL per report type (no free-form argument): each is a page of its own.
            *(
                path(
                    f"order/{kind}/",
                    view(partial(self.order_view, kind=kind)),
                    name=f"oversight_reportrequest_order_{kind}",
                )
                for kind in ORDER_FORMS
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "media": self.media,
            **context,
        }

    def add_view(self, request, form_url="", extra_context=None):
        """Which report? One link per type, each to its own small form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        choices = [
            {
                "kind": kind,
                "label": form.title,
                "description": form.description,
                "url": order_url(kind),
            }
            for kind, form in ORDER_FORMS.items()
        ]
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/oversight/reportrequest/order_choice.html",
            self._context(request, title="Order a report", choices=choices),
        )

    def _case_queryset(self, request):
        # The cases this person sees in the case admin: a dossier names no other case.
        return self.admin_site._registry[Case].get_queryset(request)

    def order_view(self, request, kind):
        """The small form of one report type, in front of `request_report`."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = ORDER_FORMS.get(kind)
        if form_class is None:
            raise Http404("There is no such report type.")
        data = request.POST if request.method == "POST" else None
        kwargs = {}
        found = None
        if form_class is CaseDossierForm:
            cases = self._case_queryset(request)
            kwargs["cases"] = cases
            query = request.GET.get("q", "").strip()
            if query:
                found = list(search_cases(cases, query))
            if data is None and request.GET.get("case"):
                kwargs["initial"] = {"case": request.GET["case"]}
        form = form_class(data, **kwargs)
        if data is not None and form.is_valid():
            try:
                report_request = request_report(
                    user=request.user,
                    kind=form.kind,
                    params=form.report_params(),
                    via=RequestedVia.ADMIN,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Ordered: {report_request.get_kind_display()}. It is being generated; "
                    "this page shows its progress and, when it is ready, the download.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:oversight_reportrequest_change", args=[report_request.pk])
                )
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/oversight/reportrequest/request_form.html",
            self._context(
                request,
                title=form_class.title,
                description=form_class.description,
                form=form,
                kind=kind,
                is_dossier=form_class is CaseDossierForm,
                query=request.GET.get("q", ""),
                found=found,
            ),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.scoped_object(request, object_id)
        extra = {
            "parameter_items": parameter_items(
                obj.kind, obj.params, system_name=getattr(obj, "system_name", None)
            ),
            "report_buttons": report_buttons(obj.report_id)
            if obj.status == ReportStatus.DONE
            else None,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.register(IssuedReport)
class IssuedReportAdmin(ReportVerifyMixin, ViewOnlyAdmin):
    list_display = [
        "generated",
        "report",
        "pages",
        "size_display",
        "short_sha256",
        "download",
    ]
    list_filter = ["kind", "generated_at"]
    list_select_related = ["requested_by"]
    search_fields = ["=sha256", "title"]
    readonly_fields = ["download", "parameters", "size_display"]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "kind", "parameters", "request"]}),
        ("Issued", {"fields": ["generated_at", "requested_by", "download"]}),
        (
            "Fingerprints",
            {
                "fields": [
                    "sha256",
                    "size_display",
                    "page_count",
                    "data_sha256",
                    "ledger_sequence",
                    "ledger_hash",
                ]
            },
        ),
    ]

    @property
    def media(self):
        return super().media + ADMIN_MEDIA

    @admin.display(description="generated", ordering="generated_at")
    def generated(self, obj):
        by = person_name(obj.requested_by) if obj.requested_by else "schedule or command line"
        return format_html(
            '{}<br><span class="report-subtitle">for {}</span>', local_time(obj.generated_at), by
        )

    @admin.display(description="pages", ordering="page_count")
    def pages(self, obj):
        return obj.page_count

    @admin.display(description="report", ordering="title")
    def report(self, obj):
        return format_html(
            '<span class="report-title">{}</span><br><span class="report-subtitle">{}</span>',
            obj.title,
            obj.subtitle,
        )

    @admin.display(description="parameters")
    def parameters(self, obj):
        return parameters_html(obj.kind, obj.params, system_name=getattr(obj, "system_name", None))

    @admin.display(description="size", ordering="size")
    def size_display(self, obj):
        return format_html('<span title="{} bytes">{}</span>', obj.size, human_size(obj.size))

    @admin.display(description="SHA-256")
    def short_sha256(self, obj):
        return format_html(
            '<code class="sha-short" title="{}">{}…</code> '
            '<button type="button" class="button copy-value" data-copy="{}" '
            'title="Copy the full SHA-256">Copy</button>',
            obj.sha256,
            obj.sha256[:8],
            obj.sha256,
        )

    @admin.display(description="PDF")
    def download(self, obj):
        return format_html('<a class="button" href="{}">Download</a>', download_url(obj.pk))

    def get_queryset(self, request):
        # The PDF bytes are read only by the download (and the verification, by hash).
        return with_system_names(super().get_queryset(request).defer("content"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:report_id>/download/",
                view(self.download_view),
                name="oversight_issuedreport_download",
            ),
            path("verify/", view(self.verify_view), name="oversight_issuedreport_verify"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"verify_url": verify_url()}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.scoped_object(request, object_id)
        extra = {"report_buttons": report_buttons(obj.pk)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

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
