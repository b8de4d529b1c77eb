"""OpenAPI description of the API-key scheme (drf-spectacular finds it on import)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from oversight.api.schema_examples import EXAMPLES


class AISystemKeyScheme(OpenApiAuthenticationExtension):
    target_class = "oversight.api.authentication.AISystemKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: one key per AI system, created in the admin or "
            "with `python manage.py create_api_key SYSTEM_SLUG`.",
        }


# The operations' descriptions and error answers, added to the generated schema in one place
# (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]). Each operation gets its own description here
# or in its view's extend_schema; every one lists the errors it can answer, in the one error
# shape of oversight.api.errors.

DESCRIPTIONS = {
    ("post", "/api/v1/gate/"): (
        "Ask before a consequential action. The journey's judgement points are applied to the "
        "signals (with the server's own: irreversible, amount, missing context, personal data "
        "in the proposal). `200 automate`: go ahead. `202 human`: do not act; a case is open "
        "and a person decides (poll the case URL or receive the webhook). Send a unique "
        "`Idempotency-Key`: a retry with the same key and body replays the first answer."
    ),
    ("post", "/api/v1/cases/"): (
        "Open a case for a person without asking the gate. `customer_requested_human` is a "
        "hand-over: journey, reason and context are enough. `system_unsure` names the `action` "
        "the system is unsure about. Answers 201 with the case document."
    ),
    ("get", "/api/v1/cases/"): (
        "This AI system's cases, oldest change first, for pollers: filter by `status` (comma "
        "separated), `updated_since` (ISO 8601 with a zone) and `journey`; `page` and "
        "`page_size` (at most 200)."
    ),
    ("get", "/api/v1/cases/{case_id}/"): (
        "Where one case stands: its status, the decision that stands, and `next_step`, which "
        "says what the automation may do now (wait, proceed, proceed_with_changes with the "
        "action, do_not_proceed, already_automated) with the approval token when it may act."
    ),
    ("post", "/api/v1/outcomes/"): (
        "Report how an automated or decided action turned out: customer effort (1-7), repeat "
        "contact, complaint, reversal, a note. Name the gate evaluation, the case, or both. "
        "Outcomes feed the guardrails, the dashboard and the corrections export."
    ),
}

ERRORS = {
    "400": "invalid_input (a field or query parameter, named in `fields`) or malformed_json.",
    "401": "missing_api_key or invalid_api_key (unknown, revoked or expired key).",
    "404": "unknown_journey or not_found (another AI system's objects are unknown too).",
    "409": "idempotency_key_reused: the Idempotency-Key was used with another body.",
    "413": "payload_too_large: the body is over API_MAX_BODY_BYTES (256 KB by default).",
    "415": "unsupported_media_type: send application/json.",
    "503": "database_unavailable: retry after Retry-After seconds with the same key.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "example": "invalid_input"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "request_id": {"type": "string"},
            },
        }
    },
}


def _errors_for(method: str, path: str) -> list[str]:
    codes = ["400", "401", "503"]
    if "{" in path or method == "post":
        codes.append("404")
    if method == "post":
        codes += ["413", "415"]
        if path in ("/api/v1/gate/", "/api/v1/cases/", "/api/v1/outcomes/"):
            codes.append("409")
    return sorted(codes)


def _add_examples(operation: dict, examples: dict) -> None:
    """The operation's worked examples, where its own extend_schema gave none."""
    if "request" in examples:
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is not None:
            content.setdefault("examples", {"Example": {"value": examples["request"]}})
    for status, value in examples.get("response", {}).items():
        answer = operation.setdefault("responses", {}).setdefault(status, {"description": ""})
        content = answer.setdefault("content", {}).setdefault(
            "application/json", {"schema": {"type": "object"}}
        )
        content.setdefault("examples", {"Example": {"value": value}})


def describe_operations(result, generator, request, public):
    """Postprocessing hook: own descriptions, worked examples and documented error answers for
    every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if (method, path) in DESCRIPTIONS:
                operation["description"] = DESCRIPTIONS[(method, path)]
            _add_examples(operation, EXAMPLES.get((method, path), {}))
            responses = operation.setdefault("responses", {})
            for code in _errors_for(method, path):
                responses.setdefault(
                    code,
                    {
                        "description": ERRORS[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
