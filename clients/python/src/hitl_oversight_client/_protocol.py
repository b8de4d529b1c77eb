"""What sync and async clients share: the calls, the retry policy, reading answers.

A logical call (`Call`) is built once; its `Idempotency-Key` is generated then and sent again
on every retry of it, so a retried POST never opens a second case or records a second outcome.
Retried: connection failures and time-outs, 429 and 503 (waiting `Retry-After` when given),
502 and 504. Never retried: any other answer, which is final.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from hitl_oversight_client.errors import OversightError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "hitl-oversight-client/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded back-off: `attempts` tries in all, waits doubling from `base` up to `cap`
    seconds (with jitter), a server's `Retry-After` honoured up to `cap`."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 10.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        hinted = _retry_after(response)
        if hinted is not None:
            return min(hinted, self.cap)
        backoff = min(self.cap, self.base * 2 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True)
class Call:
    """One logical API call; retries of it send the same request, idempotency key included."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def post(cls, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> Call:
        key = idempotency_key or str(uuid.uuid4())
        return cls("POST", path, json=body, headers={"Idempotency-Key": key})

    @classmethod
    def get(cls, path: str, params: dict[str, str] | None = None) -> Call:
        return cls("GET", path, params=params)


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def read(response: httpx.Response) -> Any:
    """The JSON body of a successful answer, or the product's error as `OversightError`."""
    if response.is_success:
        return response.json()
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {"code": "http_error", "message": response.text[:500] or response.reason_phrase}
    raise OversightError(
        response.status_code,
        str(error.get("code", "http_error")),
        str(error.get("message", "")),
        fields=error.get("fields") or {},
        request_id=error.get("request_id") or response.headers.get("X-Request-ID"),
    )


def client_headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Api-Key {api_key}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


def drop_none(**fields: Any) -> dict[str, Any]:
    """A request body without the fields the caller left out."""
    return {name: value for name, value in fields.items() if value is not None}
