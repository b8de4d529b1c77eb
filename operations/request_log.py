"""One log line per request: who asked what, the answer and how long it took.

Written by `RequestLogMiddleware`, inside `RequestIdMiddleware` (so the line carries the request
id) and outside everything else (so the duration covers the whole answer). The line holds the
method, the path (never the query string: search terms and filters may name people), the
status, the duration, and who acted: the AI system for API calls (its slug, never its key) or
the signed-in user (their id). Bodies, headers and cookies are never logged: what an AI system
sends (context, proposals, signals) may be personal data, and headers carry the keys.

With LOG_FORMAT=json each line is one JSON object; the fields are given as `extra=`, so a log
shipper indexes them without parsing the message.
"""

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

logger = logging.getLogger("hitl.requests")

# Load balancers and Prometheus call these every few seconds: one line each would drown the
# log. Their failures still show in their own answers and in the metrics.
QUIET_PATHS = ("/health/", "/metrics")


def acting_party(request: HttpRequest) -> dict[str, str | int]:
    """Who the request acted for: {"ai_system": slug} or {"user_id": id}, or nothing."""
    user = getattr(request, "user", None)
    if getattr(user, "_wrapped", None) is empty:
        # Nothing asked who the user is (a lazy object never evaluated): asking now would
        # cost a session query for a log line.
        return {}
    # DRF puts the authenticated principal on the Django request after the view ran.
    ai_system = getattr(user, "ai_system", None)
    if ai_system is not None:
        return {"ai_system": ai_system.slug}
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return {"user_id": user.pk}
    return {}


class RequestLogMiddleware:
    """Logs `METHOD path status duration` once per request, with structured fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if request.path_info.startswith(QUIET_PATHS) and response.status_code < 500:
            return response
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        if not logger.isEnabledFor(level):
            # Below the configured level (LOG_LEVEL=WARNING): no line, so no fields to build.
            return response
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            **acting_party(request),
        }
        logger.log(
            level,
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra=fields,
        )
        return response
