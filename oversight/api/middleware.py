"""A request id for every request, and JSON for every error on API paths, whatever DEBUG says.

The id is generated here (never taken from the client, so it cannot be forged into our logs),
returned as `X-Request-ID`, put into every API error body and onto every log record written
while the request runs (`RequestIdLogFilter`). An integrator quoting it lets us find the
traceback of their 500.

Django answers some errors before or around the API's views (an unknown URL, an uncaught
exception, a refused host) with its HTML pages, or with its debug pages when DEBUG is on. On
`/api/` paths this middleware answers them in the API's error shape instead.
"""

import logging
import uuid
from contextvars import ContextVar

from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, JsonResponse

logger = logging.getLogger("oversight.api")

API_PREFIX = "/api/"
HEADER = "X-Request-ID"

_current_request_id: ContextVar[str] = ContextVar("request_id", default="")

# Errors Django turns into a 4xx response itself: let it, then reshape that response.
_HTTP_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)

_CODES = {
    400: ("bad_request", "The request could not be read."),
    401: ("not_authenticated", "Send an API key: Authorization: Api-Key <key>."),
    403: ("forbidden", "This request is not allowed."),
    404: (
        "not_found",
        "There is no API endpoint at this URL. The API lives under /api/v1/; "
        "/api/docs/ lists its endpoints.",
    ),
    405: ("method_not_allowed", "This endpoint does not answer this HTTP method."),
    413: ("payload_too_large", "The request body is too large."),
}


def current_request_id() -> str:
    """The id of the request being answered in this context, or "" outside a request."""
    return _current_request_id.get()


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def json_error(status: int, code: str, message: str) -> JsonResponse:
    request_id = current_request_id()
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return JsonResponse(body, status=status)


def server_error_message(request_id: str) -> str:
    return (
        "Something went wrong on our side and the request was not completed. "
        f"Quote request id {request_id} if you report it."
    )


class RequestIdMiddleware:
    """Outermost middleware: it sees every response, including Django's own error pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        token = _current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
            if (
                is_api_path(request.path_info)
                and response.status_code >= 400
                and not response.get("Content-Type", "").startswith("application/json")
            ):
                response = self._as_json(request, response)
        finally:
            _current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response

    def process_exception(self, request, exception):
        """An uncaught exception in an API view: log it with the id, answer a JSON 500."""
        if not is_api_path(request.path_info) or isinstance(exception, _HTTP_ERRORS):
            return None
        logger.error(
            "Request %s failed: %s %s",
            request.request_id,
            request.method,
            request.path,
            exc_info=exception,
        )
        # What Django's own 500 handling sends: error reporters and the test client listen.
        signals.got_request_exception.send(sender=self.__class__, request=request)
        return json_error(500, "server_error", server_error_message(request.request_id))

    @staticmethod
    def _as_json(request, response):
        status = response.status_code
        code, message = _CODES.get(status, ("server_error", ""))
        if status >= 500 or not message:
            logger.error("Request %s answered %s: %s", request.request_id, status, request.path)
            message = server_error_message(request.request_id)
        reshaped = json_error(status, code, message)
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                reshaped[header] = response[header]
        return reshaped


class RequestIdLogFilter(logging.Filter):
    """Stamps `request_id` on every log record ("-" outside a request) for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        # Django logs 4xx/5xx responses after the middleware has returned: read the id off
        # the request it attaches to those records.
        record.request_id = getattr(request, "request_id", None) or current_request_id() or "-"
        return True
