"""`OversightClient`: the synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from hitl_oversight_client import calls
from hitl_oversight_client._protocol import (
    Call,
    RetryPolicy,
    client_headers,
    read,
    should_retry,
)
from hitl_oversight_client.approvals import Approval, verify_approval
from hitl_oversight_client.errors import DecisionTimeout, OversightUnavailable
from hitl_oversight_client.guard import Guard
from hitl_oversight_client.models import Case, GateAnswer


class OversightClient:
    """Ask HITL Oversight before acting; open cases for people; wait for their decisions.

    >>> client = OversightClient("https://oversight.example.com", api_key="…")
    >>> answer = client.gate("refunds", action={"type": "refund", "amount": "20.00",
    ...                      "currency": "EUR"}, signals={"confidence": 0.91})
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        approval_key: str | None = None,
    ):
        self.retry = retry or RetryPolicy()
        self._approval_key = approval_key
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> OversightClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Operations -------------------------------------------------------------------------------

    def ping(self) -> dict[str, Any]:
        return self.send(calls.ping())

    def approval_key(self) -> str:
        """The public key approval tokens are checked with: the one given to the constructor
        (pin it in production), else fetched once from the product and kept."""
        if self._approval_key is None:
            self._approval_key = self.send(calls.approval_key())["public_key"]
        return self._approval_key

    def verify_approval(self, case: Case, approved: dict[str, Any]) -> Approval:
        """The case's approval if it binds exactly `approved` and is valid now, else
        `ApprovalInvalid` (see `approvals.approved_as_sent` and `approved_changes`)."""
        token = (case.raw.get("next_step") or {}).get("approval_token")
        return verify_approval(token, self.approval_key(), case_id=case.id, approved=approved)

    def journeys(self) -> list[dict[str, Any]]:
        return self.send(calls.journeys())

    def gate(self, journey: str, **fields: Any) -> GateAnswer:
        """May the action go ahead? See `calls.gate` for the fields."""
        return GateAnswer.from_json(self.send(calls.gate(journey, **fields)))

    def open_case(self, journey: str, **fields: Any) -> Case:
        """Ask a person directly (`reason`: customer_requested_human or system_unsure)."""
        return Case.from_json(self.send(calls.open_case(journey, **fields)))

    def get_case(self, case_id: str) -> Case:
        return Case.from_json(self.send(calls.get_case(case_id)))

    def wait_for_decision(
        self, case_id: str, *, timeout: float = 300.0, poll_interval: float = 5.0
    ) -> Case:
        """The case once a person has decided it; `DecisionTimeout` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            case = self.get_case(case_id)
            if case.decided:
                return case
            left = deadline - time.monotonic()
            if left <= 0:
                raise DecisionTimeout(
                    f"No decision on case {case_id} within {timeout:g} s.", case=case.raw
                )
            time.sleep(min(poll_interval, left))

    def report_outcome(self, **fields: Any) -> dict[str, Any]:
        """How it went (complaint, reversed, repeat contact, effort): see `calls.report_outcome`."""
        return self.send(calls.report_outcome(**fields))

    def precedents(self, journey: str, **fields: Any) -> dict[str, Any]:
        """What people decided on similar cases: `would_fire` and `results`, best first."""
        return self.send(calls.precedents(journey, **fields))

    def corrections(
        self, *, since: str | None = None, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every correction (final human decision) from `since`, page after page."""
        page = self.send(calls.corrections(since=since, page_size=page_size))
        while True:
            yield from page["results"]
            if not page.get("next"):
                return
            page = self.send(calls.next_page(page["next"]))

    def guard(self, journey: str, **options: Any) -> Guard:
        """A decorator that asks the gate before running the function: see `guard.Guard`."""
        return Guard(self, journey, **options)

    # Transport --------------------------------------------------------------------------------

    def send(self, call: Call) -> Any:
        """Send one logical call, retrying it (same idempotency key) as the policy allows."""
        for attempt in range(1, self.retry.attempts + 1):
            response = None
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers
                )
            except httpx.TransportError as error:
                failure: object = error
            else:
                if not should_retry(response):
                    return read(response)
                failure = f"HTTP {response.status_code}"
            if attempt == self.retry.attempts:
                break
            time.sleep(self.retry.delay(attempt, response))
        raise OversightUnavailable(
            f"{call.method} {call.path} failed {self.retry.attempts} times; last: {failure}"
        )
