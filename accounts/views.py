"""Two-factor pages for staff: the sign-in's second step, enrolment, backup codes.

Thin: each view parses the form and calls accounts.services.two_factor. The pages live under
/admin/two-factor/ and look like the admin; they need a signed-in staff member.
"""

from base64 import b32encode

from django.contrib import messages
from django.contrib.admin import site as admin_site
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.qr import qr_svg
from accounts.services import two_factor
from oversight.exceptions import DomainError

TOKEN_FIELD = "token"


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _render(request, template: str, context: dict, status: int = 200) -> TemplateResponse:
    context = {**admin_site.each_context(request), "next": _next_url(request), **context}
    return TemplateResponse(request, template, context, status=status)


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step of signing in: a code from the authenticator app, or a backup code."""
    if not two_factor.has_second_factor(request.user):
        return redirect("accounts:setup")
    if two_factor.is_verified(request.user):
        return redirect(_next_url(request))
    if request.method == "POST":
        try:
            two_factor.verify_second_factor(request=request, token=request.POST.get(TOKEN_FIELD))
        except DomainError as exc:
            return _render(
                request, "accounts/verify.html", {"error": exc.message, "title": "Second step"}, 200
            )
        return redirect(_next_url(request))
    return _render(request, "accounts/verify.html", {"title": "Second step"})


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """Enrol an authenticator app: QR code, otpauth URL and secret; confirm with one code."""
    verified = two_factor.is_verified(request.user)
    enrolled = two_factor.has_second_factor(request.user)
    if enrolled and not verified:
        return redirect("accounts:verify")
    if enrolled and request.method == "GET" and "replace" not in request.GET:
        return _render(request, "accounts/status.html", {"title": "Two-factor sign-in"})
    device = two_factor.pending_authenticator(user=request.user)
    error = ""
    if request.method == "POST":
        try:
            two_factor.confirm_authenticator(request=request, token=request.POST.get(TOKEN_FIELD))
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, "Your authenticator app is enrolled.")
            if not enrolled:  # the first enrolment: backup codes belong with it
                return _issue_codes(request)
            return redirect("accounts:setup")
    context = {
        "title": "Set up two-factor sign-in",
        "qr_svg": qr_svg(device.config_url),
        "otpauth_url": device.config_url,
        "secret": _base32(device),
        "error": error,
    }
    return _render(request, "accounts/setup.html", context)


@never_cache
@staff_member_required
@require_http_methods(["POST"])
def backup_codes(request):
    """Replace the backup codes and show them once."""
    return _issue_codes(request)


def _issue_codes(request):
    try:
        codes = two_factor.issue_backup_codes(user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:setup")
    return _render(request, "accounts/backup_codes.html", {"title": "Backup codes", "codes": codes})


def _base32(device) -> str:
    """The secret as an app expects it typed: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
