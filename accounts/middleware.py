"""With OTP_REQUIRED, a staff member signed in by password alone reaches only the second step.

Placed after django-otp's OTPMiddleware (which gives `user.is_verified()`). A person with a
confirmed device is sent to enter a code; one without is sent to enrol. Nothing else answers
until then, the admin included: the password step alone never opens a page with data.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from accounts.services.two_factor import has_second_factor, second_factor_required

# Where a half-signed-in person may still go: the second step itself, and signing out.
OPEN_URL_NAMES = ("accounts:verify", "accounts:setup", "accounts:backup_codes", "admin:logout")


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if second_factor_required(request.user) and not self._open(request.path):
            target = "accounts:verify" if has_second_factor(request.user) else "accounts:setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        return any(path == reverse(name) for name in OPEN_URL_NAMES)
