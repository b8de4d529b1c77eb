"""The corrections export in the admin: managers and compliance officers download the final
human decisions as JSON lines for training and evaluation; each download is a ledger event."""

import datetime
import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from audit.services.ledger import Actor
from oversight.models import AISystem
from oversight.services.corrections import EXPORT_PERMISSION, export_corrections


class CorrectionsExportForm(forms.Form):
    ai_system = forms.ModelChoiceField(
        queryset=AISystem.objects.order_by("name"),
        required=False,
        empty_label="Every AI system",
        label="AI system",
    )
    since = forms.DateField(
        required=False,
        label="Decided on or after",
        help_text="A date (YYYY-MM-DD), in your time zone; empty for every decision.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def since_moment(self) -> datetime.datetime | None:
        day = self.cleaned_data["since"]
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def corrections_export_view(request):
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    form = CorrectionsExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        ai_system = form.cleaned_data["ai_system"]
        records = export_corrections(
            user=request.user,
            actor=Actor.for_user(request.user),
            via="admin",
            ai_system=ai_system,
            since=form.since_moment(),
        )
        name = f"corrections-{ai_system.slug if ai_system else 'all'}-{timezone.now():%Y%m%d}"
        response = StreamingHttpResponse(
            (json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records),
            content_type="application/x-ndjson",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.jsonl"'
        return response
    return TemplateResponse(
        request,
        "admin/oversight/corrections_export.html",
        {**admin.site.each_context(request), "title": "Export corrections", "form": form},
    )


def install(site: admin.AdminSite) -> None:
    original = site.get_urls

    def get_urls():
        export = path(
            "oversight/corrections/export/",
            site.admin_view(corrections_export_view),
            name="oversight_corrections_export",
        )
        return [export, *original()]

    site.get_urls = get_urls


install(admin.site)
