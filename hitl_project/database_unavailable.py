"""Pages whose database connection was lost answer 503 with Retry-After, not a 500 page.

The API answers the same condition in its JSON error shape (oversight.api.errors); this covers
the admin and report views. OperationalError and InterfaceError mean the connection failed (a
restart, a failover, a terminated backend), never bad input; the view's transaction did not
commit, Django discards the broken connection at the end of the request, and a reload works.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = (
    "The database connection was lost while answering; nothing was completed. "
    f"Reload the page in {RETRY_AFTER_SECONDS} seconds."
)


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection during a view into 503 + Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Database unavailable during %s %s: %s", request.method, request.path, exception
        )
        response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
