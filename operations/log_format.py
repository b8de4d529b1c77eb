"""The JSON log line: python-json-logger, keeping only fields known to hold no personal data.

A log record carries whatever its caller passed as `extra=`: Django's request logger attaches
the whole request (whose text includes the query string), a database logger the SQL parameters.
So the formatter writes an allow-list, not everything: the standard fields, and the fields the
request log (operations.request_log) and Django's own loggers set on purpose. A new field
reaches the JSON only when it is added here.
"""

from pythonjsonlogger.json import JsonFormatter

ALLOWED_EXTRA_FIELDS = frozenset(
    {
        # operations.request_log.RequestLogMiddleware
        "method",
        "path",
        "status",
        "duration_ms",
        "ai_system",
        "user_id",
        # django.request: the status of a 4xx/5xx answer
        "status_code",
    }
)


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, request id, message, allowed extras."""

    def add_fields(self, log_data: dict, record, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        standard = {"time", "level", "logger", "request_id", "message", "exc_info", "stack_info"}
        for key in list(log_data):
            if key not in standard and key not in ALLOWED_EXTRA_FIELDS:
                del log_data[key]
