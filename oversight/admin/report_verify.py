"""The admin's "Verify a PDF" page: an uploaded copy gets `verify_report`'s verdict.

The check and its ledger record are the service's (`verify_uploaded_report`); this page only
takes the upload, refuses a request too large before Django reads its body, and shows the
verdict or the refusal.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from oversight.exceptions import DomainError
from oversight.services.report_verification import (
    refuse_oversized_request,
    verify_uploaded_report,
)


class VerifyUploadForm(forms.Form):
    pdf = forms.FileField(
        label="PDF file",
        allow_empty_file=True,  # the service refuses it with its own message
        help_text="The copy you want to check, e.g. one handed to an auditor.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )


class ReportVerifyMixin:
    """Adds `verify_view` to the issued-report admin (its URL is named there)."""

    def verify_view(self, request):
        """Upload a copy; the verdict is `verify_report`'s, and the check is in the ledger."""
        if not request.user.has_perm("oversight.view_issuedreport"):
            raise PermissionDenied
        verdict = None
        form, refusal = VerifyUploadForm(), None
        if request.method == "POST":
            try:
                # Before the body is read: Django would spool a huge upload to disk first.
                refuse_oversized_request(int(request.META.get("CONTENT_LENGTH") or 0))
            except DomainError as error:
                refusal = error.message
            else:
                form = VerifyUploadForm(request.POST, request.FILES)
        if form.is_bound and form.is_valid():
            upload = form.cleaned_data["pdf"]
            try:
                verdict = verify_uploaded_report(
                    user=request.user, upload=upload, filename=upload.name
                )
            except DomainError as error:
                refusal = error.message
        elif form.is_bound:
            refusal = " ".join(form.errors.get("pdf", [])) or "Choose the PDF you want to check."
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/oversight/issuedreport/verify.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "media": self.media,
                "title": "Verify a PDF",
                "form": form,
                "verdict": verdict,
                "refusal": refusal,
            },
        )
