"""Typed views of the product's answers. Each keeps the raw document in `raw`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WAIT = "wait"
PROCEED = "proceed"
PROCEED_WITH_CHANGES = "proceed_with_changes"
DO_NOT_PROCEED = "do_not_proceed"
ALREADY_AUTOMATED = "already_automated"


@dataclass(frozen=True)
class GateAnswer:
    route: str  # "automate" or "human"
    evaluation: str
    case_id: str | None
    matched: list[str]
    reasons: list[str]
    raw: dict[str, Any]

    @property
    def automate(self) -> bool:
        return self.route == "automate"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateAnswer:
        case = data.get("case") or {}
        return cls(
            route=data["route"],
            evaluation=data["evaluation"],
            case_id=case.get("id"),
            matched=list(data.get("matched", [])),
            reasons=list(data.get("reasons", [])),
            raw=data,
        )


@dataclass(frozen=True)
class Case:
    """A case as the AI system sees it: its state and what the automation may do now."""

    id: str
    journey: str
    status: str
    instruction: str
    may_proceed: bool
    action: Any
    decision: dict[str, Any] | None
    raw: dict[str, Any]

    @property
    def decided(self) -> bool:
        return self.instruction != WAIT

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        step = data.get("next_step") or {}
        return cls(
            id=data["id"],
            journey=data["journey"],
            status=data["status"],
            instruction=step.get("instruction", WAIT),
            may_proceed=bool(step.get("may_proceed", False)),
            action=step.get("action"),
            decision=data.get("decision"),
            raw=data,
        )
