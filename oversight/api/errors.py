"""One error shape for the whole API: {"error": {"code", "message", "fields"?, "request_id"}}.

`code` is stable and machine-readable; `message` is for a person; `fields` names each bad field;
`request_id` is the request's `X-Request-ID`. Errors Django answers outside DRF (unknown URLs,
uncaught exceptions) get the same shape from `oversight.api.middleware`.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from oversight.api.middleware import current_request_id
from oversight.exceptions import DomainError, NotAllowed, StaleState

logger = logging.getLogger(__name__)

DOMAIN_STATUS = {
    "unknown_journey": status.HTTP_404_NOT_FOUND,
    "not_found": status.HTTP_404_NOT_FOUND,
    "not_configured": status.HTTP_503_SERVICE_UNAVAILABLE,
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request body."


def error_response(code: str, message: str, http_status: int, fields=None, headers=None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    # Quoted by an integrator, it finds this request in our logs (oversight.api.middleware).
    body["error"]["request_id"] = current_request_id()
    return Response(body, status=http_status, headers=headers)


def _flatten(detail) -> dict:
    """DRF's nested ValidationError detail as {"field.sub": ["message", ...]}."""
    flat: dict[str, list[str]] = {}

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        else:
            items = value if isinstance(value, list) else [value]
            flat.setdefault(path or "body", []).extend(str(v) for v in items)

    walk(detail, "")
    return flat


# G2 connection loss -----------------------------------------------------------------------------

# Seconds a client is asked to wait: enough for a health-checked reconnect or a restart.
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable_response(exc) -> Response | None:
    """503 with Retry-After when the database connection failed (lost, refused, terminated).

    OperationalError and InterfaceError are Django's wrappers for "the connection is gone",
    never for bad input: the request's transaction cannot have committed unless the connection
    died during COMMIT itself, so the client retries (a POST with its Idempotency-Key, which
    answers the first result if that COMMIT did land). Django discards the broken connection
    at the end of the request, and the next request opens a new one. Other errors: None.
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    logger.warning("Database unavailable during an API request: %s", exc)
    return error_response(
        "database_unavailable",
        "The database connection was lost while answering; the request was not completed. "
        f"Retry it in {DATABASE_RETRY_AFTER_SECONDS} seconds (with the same Idempotency-Key).",
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def api_exception_handler(exc, context):
    unavailable = database_unavailable_response(exc)
    if unavailable is not None:
        return unavailable
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    # Django's own (DRF raises Http404 for `?format=xml`): the API's, so they have codes.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DomainError):
        http_status = DOMAIN_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, NotAllowed):
            http_status = status.HTTP_403_FORBIDDEN
        elif isinstance(exc, StaleState):
            http_status = status.HTTP_409_CONFLICT
        return error_response(exc.code, exc.message, http_status)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        return error_response("invalid_input", f"The request is invalid. {summary}", 400, fields)
    if isinstance(exc, exceptions.ParseError):
        return error_response("malformed_json", f"The body is not valid JSON: {exc.detail}", 400)
    if isinstance(exc, exceptions.NotAuthenticated):
        code, message = "missing_api_key", "Send an API key: Authorization: Api-Key <key>."
    elif isinstance(exc, exceptions.AuthenticationFailed):
        code, message = "invalid_api_key", str(exc.detail)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        message = str(exc.detail)
    headers = {k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Allow")}
    return error_response(code, message, response.status_code, headers=headers)
