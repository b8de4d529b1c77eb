"""`AsyncOversightClient`: the same operations as `OversightClient`, for asyncio code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
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
from hitl_oversight_client.errors import DecisionTimeout, OversightUnavailable
from hitl_oversight_client.models import Case, GateAnswer


class AsyncOversightClient:
    """The asyncio twin of `OversightClient` (same operations, awaited)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncOversightClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ping(self) -> dict[str, Any]:
        return await self.send(calls.ping())

    async def journeys(self) -> list[dict[str, Any]]:
        return await self.send(calls.journeys())

    async def gate(self, journey: str, **fields: Any) -> GateAnswer:
        return GateAnswer.from_json(await self.send(calls.gate(journey, **fields)))

    async def open_case(self, journey: str, **fields: Any) -> Case:
        return Case.from_json(await self.send(calls.open_case(journey, **fields)))

    async def get_case(self, case_id: str) -> Case:
        return Case.from_json(await self.send(calls.get_case(case_id)))

    async def wait_for_decision(
        self, case_id: str, *, timeout: float = 300.0, poll_interval: float = 5.0
    ) -> Case:
        deadline = time.monotonic() + timeout
        while True:
            case = await self.get_case(case_id)
            if case.decided:
                return case
            left = deadline - time.monotonic()
            if left <= 0:
                raise DecisionTimeout(
                    f"No decision on case {case_id} within {timeout:g} s.", case=case.raw
                )
            await asyncio.sleep(min(poll_interval, left))

    async def report_outcome(self, **fields: Any) -> dict[str, Any]:
        return await self.send(calls.report_outcome(**fields))

    async def precedents(self, journey: str, **fields: Any) -> dict[str, Any]:
        return await self.send(calls.precedents(journey, **fields))

    async def corrections(
        self, *, since: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        page = await self.send(calls.corrections(since=since, page_size=page_size))
        while True:
            for record in page["results"]:
                yield record
            if not page.get("next"):
                return
            page = await self.send(calls.next_page(page["next"]))

    async def send(self, call: Call) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            response = None
            try:
                response = await self._http.request(
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
            await asyncio.sleep(self.retry.delay(attempt, response))
        raise OversightUnavailable(
            f"{call.method} {call.path} failed {self.retry.attempts} times; last: {failure}"
        )
