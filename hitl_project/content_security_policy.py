"""django-csp's middleware, with the policy built once per setting instead of on every response.

django-csp builds the Content-Security-Policy header (and the report-only one) from the settings
on every response: merging the directives, sorting and joining them, twice per request. For a
response that neither used a nonce nor carries a view's own policy (every API answer, most
pages) the result depends on the settings alone, so it is built once and reused until a
setting changes. Anything else (a page that used `request.csp_nonce`, a view decorated with
`csp_update` & co., an exempted response, the debug pages) goes through django-csp unchanged.
The header's value and the rules for setting it (not twice, not on excluded prefixes, not on an
exempted response) are django-csp's own: tests/test_csp_policy_cache.py holds them equal.
"""

from __future__ import annotations

import http.client

from csp import middleware as csp_middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
# A response with any of these has its own policy or none: django-csp decides.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)
_DEBUG_EXEMPT = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)

# (header, setting) -> (header value, excluded path prefixes), built on first use.
_policies: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}


@receiver(setting_changed)
def _forget_policies(*, setting, **kwargs) -> None:
    if setting in _SETTINGS or setting == "DEBUG":
        _policies.clear()


def _policy(header: str, setting: str) -> tuple[str, tuple[str, ...]]:
    if (header, setting) not in _policies:
        # csp.middleware's own name, so the value is exactly what django-csp would build.
        value = csp_middleware.build_policy(report_only=header == HEADER_REPORT_ONLY)
        prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        _policies[header, setting] = (value, tuple(prefixes))
    return _policies[header, setting]


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's CSPMiddleware (a subclass: checks and settings that name it still find it)."""

    def process_response(self, request, response):
        if (
            isinstance(getattr(request, "_csp_nonce", None), str)
            or any(hasattr(response, name) for name in _PER_RESPONSE)
            or (settings.DEBUG and response.status_code in _DEBUG_EXEMPT)
        ):
            return super().process_response(request, response)
        for header, setting in ((HEADER, _SETTINGS[0]), (HEADER_REPORT_ONLY, _SETTINGS[1])):
            value, excluded = _policy(header, setting)
            if value and header not in response and not request.path_info.startswith(excluded):
                response[header] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
