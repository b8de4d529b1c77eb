"""Evaluating judgement-point triggers against the signals of one gate call.

Pure functions over plain values: the gate service loads the journey's points once and calls
these, so evaluation costs no queries.
"""

from dataclasses import dataclass
from typing import Any

from oversight.models.judgement import (
    NUMERIC_OPERATORS,
    VALUELESS_OPERATORS,
    Combinator,
    Operator,
)

MISSING = object()


@dataclass(frozen=True)
class FiredCondition:
    signal: str
    operator: str
    threshold: Any
    actual: Any

    def as_dict(self) -> dict:
        actual = None if self.actual is MISSING else self.actual
        return {
            "signal": self.signal,
            "operator": self.operator,
            "value": self.threshold,
            "actual": actual,
        }

    def explain(self) -> str:
        label = Operator(self.operator).label
        if self.operator in VALUELESS_OPERATORS:
            return f"{self.signal} {label}"
        return f"{self.signal} {label} {self.threshold!r} (was {self.as_dict()['actual']!r})"


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fold(value):
    return value.casefold() if isinstance(value, str) else value


def condition_holds(operator: str, threshold, actual) -> bool:
    """Whether one condition holds; an absent or ill-typed signal never satisfies a comparison."""
    if operator == Operator.MISSING:
        return actual is MISSING or actual is None
    if operator == Operator.PRESENT:
        return actual is not MISSING and actual is not None
    if actual is MISSING or actual is None:
        return False
    if operator in NUMERIC_OPERATORS:
        if not (_is_number(actual) and _is_number(threshold)):
            return False
        return {
            Operator.LT: actual < threshold,
            Operator.LTE: actual <= threshold,
            Operator.GT: actual > threshold,
            Operator.GTE: actual >= threshold,
        }[operator]
    if operator == Operator.IS_TRUE:
        return actual is True
    if operator == Operator.IS_FALSE:
        return actual is False
    if operator in (Operator.EQ, Operator.NE):
        same_kind = isinstance(actual, bool) == isinstance(threshold, bool)
        equal = same_kind and _fold(actual) == _fold(threshold)
        return equal if operator == Operator.EQ else not equal
    if operator in (Operator.CONTAINS, Operator.CONTAINS_ANY):
        wanted = [threshold] if operator == Operator.CONTAINS else list(threshold or [])
        wanted = [_fold(w) for w in wanted if isinstance(w, str)]
        if isinstance(actual, str):
            text = actual.casefold()
            return any(w in text for w in wanted)
        if isinstance(actual, list):
            items = {_fold(item) for item in actual if isinstance(item, str)}
            return any(w in items for w in wanted)
        return False
    raise ValueError(f"unknown operator {operator!r}")


def evaluate_trigger(
    combinator: str, conditions: list[tuple[str, str, Any]], signals: dict
) -> list[FiredCondition] | None:
    """The conditions that fired if the trigger fires, else None.

    `conditions` are (signal, operator, value) triples. ALL needs every condition, ANY one; a
    trigger without conditions never fires.
    """
    if not conditions:
        return None
    fired = []
    for signal, operator, threshold in conditions:
        actual = signals.get(signal, MISSING)
        if condition_holds(operator, threshold, actual):
            fired.append(FiredCondition(signal, operator, threshold, actual))
        elif combinator == Combinator.ALL:
            return None
    return fired or None
