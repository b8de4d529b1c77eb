"""The product's endpoints as `Call`s: one builder per operation, shared by both clients."""

from __future__ import annotations

from typing import Any

from hitl_oversight_client._protocol import Call, drop_none

CUSTOMER_REQUESTED_HUMAN = "customer_requested_human"
SYSTEM_UNSURE = "system_unsure"


def ping() -> Call:
    return Call.get("/api/v1/ping/")


def approval_key() -> Call:
    return Call.get("/api/v1/approval-key/")


def journeys() -> Call:
    return Call.get("/api/v1/journeys/")


def gate(
    journey: str,
    *,
    action: dict[str, Any],
    signals: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    proposal: Any = None,
    subject_ref: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
) -> Call:
    body = drop_none(
        journey=journey,
        action=action,
        signals=signals if signals is not None else {},
        context=context,
        proposal=proposal,
        subject_ref=subject_ref,
        callback_url=callback_url,
    )
    return Call.post("/api/v1/gate/", body, idempotency_key)


def open_case(
    journey: str,
    *,
    reason: str,
    context: dict[str, Any] | None = None,
    action: dict[str, Any] | None = None,
    proposal: Any = None,
    signals: dict[str, Any] | None = None,
    subject_ref: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
) -> Call:
    body = drop_none(
        journey=journey,
        reason=reason,
        context=context,
        action=action,
        proposal=proposal,
        signals=signals,
        subject_ref=subject_ref,
        callback_url=callback_url,
    )
    return Call.post("/api/v1/cases/", body, idempotency_key)


def get_case(case_id: str) -> Call:
    return Call.get(f"/api/v1/cases/{case_id}/")


def report_outcome(
    *,
    evaluation: str | None = None,
    case: str | None = None,
    customer_effort: int | None = None,
    repeat_contact: bool | None = None,
    complaint: bool | None = None,
    reversed: bool | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Call:
    if not evaluation and not case:
        raise ValueError("Name the evaluation or the case the outcome belongs to.")
    body = drop_none(
        evaluation=evaluation,
        case=case,
        customer_effort=customer_effort,
        repeat_contact=repeat_contact,
        complaint=complaint,
        reversed=reversed,
        note=note,
    )
    return Call.post("/api/v1/outcomes/", body, idempotency_key)


def precedents(
    journey: str,
    *,
    signals: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    proposal: Any = None,
    limit: int | None = None,
) -> Call:
    body = drop_none(
        journey=journey, signals=signals, context=context, proposal=proposal, limit=limit
    )
    return Call("POST", "/api/v1/precedents/", json=body)


def corrections(*, since: str | None = None, page_size: int | None = None) -> Call:
    params = drop_none(since=since, page_size=str(page_size) if page_size else None)
    return Call.get("/api/v1/corrections/", params=params or None)


def next_page(url: str) -> Call:
    """The `next` link of a cursor page (an absolute URL the product gave)."""
    return Call.get(url)
