"""Every operator and both combinators, on plain values (no database)."""

import pytest

from oversight.services.triggers import MISSING, condition_holds, evaluate_trigger


@pytest.mark.parametrize(
    ("operator", "threshold", "actual", "holds"),
    [
        ("lt", 0.7, 0.69, True),
        ("lt", 0.7, 0.7, False),
        ("lte", 0.7, 0.7, True),
        ("lte", 0.7, 0.71, False),
        ("gt", 500, 500.01, True),
        ("gt", 500, 500, False),
        ("gte", 1, 1, True),
        ("gte", 1, 0, False),
        ("lt", 0.7, True, False),  # booleans are not numbers
        ("lt", 0.7, "0.5", False),  # neither are texts
        ("lt", 0.7, MISSING, False),  # an absent signal never satisfies a comparison
        ("eq", "gold", "Gold", True),
        ("eq", 3, 3.0, True),
        ("eq", True, 1, False),
        ("eq", "gold", MISSING, False),
        ("ne", "gold", "silver", True),
        ("ne", "gold", "gold", False),
        ("is_true", None, True, True),
        ("is_true", None, 1, False),
        ("is_true", None, MISSING, False),
        ("is_false", None, False, True),
        ("is_false", None, None, False),
        ("contains", "refund", "Full REFUND requested", True),
        ("contains", "refund", "replacement", False),
        ("contains", "chargeback", ["Chargeback", "ombudsman"], True),
        ("contains", "chargeback", 12, False),
        ("contains_any", ["legal action", "ombudsman"], "I will take legal action", True),
        ("contains_any", ["legal action", "ombudsman"], ["tone"], False),
        ("contains_any", ["legal action", "ombudsman"], ["Ombudsman"], True),
        ("present", None, 0, True),
        ("present", None, MISSING, False),
        ("present", None, None, False),
        ("missing", None, MISSING, True),
        ("missing", None, None, True),
        ("missing", None, "x", False),
    ],
)
def test_each_operator(operator, threshold, actual, holds):
    assert condition_holds(operator, threshold, actual) is holds


IDENTITY = [("identity_mismatch", "is_true", None), ("recent_fraud_attempts", "gte", 1)]


@pytest.mark.parametrize(
    ("signals", "fires"),
    [
        ({"identity_mismatch": True, "recent_fraud_attempts": 2}, True),
        ({"identity_mismatch": True, "recent_fraud_attempts": 0}, False),
        ({"identity_mismatch": False, "recent_fraud_attempts": 5}, False),
        ({}, False),
    ],
)
def test_all_fires_only_when_every_condition_holds(signals, fires):
    fired = evaluate_trigger("all", IDENTITY, signals)
    assert (fired is not None) is fires
    if fires:
        assert [c.as_dict() for c in fired] == [
            {"signal": "identity_mismatch", "operator": "is_true", "value": None, "actual": True},
            {"signal": "recent_fraud_attempts", "operator": "gte", "value": 1, "actual": 2},
        ]


@pytest.mark.parametrize(
    ("signals", "fired_signals"),
    [
        ({"identity_mismatch": True, "recent_fraud_attempts": 0}, ["identity_mismatch"]),
        ({"identity_mismatch": False, "recent_fraud_attempts": 5}, ["recent_fraud_attempts"]),
        (
            {"identity_mismatch": True, "recent_fraud_attempts": 5},
            ["identity_mismatch", "recent_fraud_attempts"],
        ),
        ({}, None),
    ],
)
def test_any_fires_on_one_condition_and_reports_each_that_held(signals, fired_signals):
    fired = evaluate_trigger("any", IDENTITY, signals)
    assert (None if fired is None else [c.signal for c in fired]) == fired_signals


def test_a_trigger_without_conditions_never_fires():
    assert evaluate_trigger("any", [], {"confidence": 0}) is None
    assert evaluate_trigger("all", [], {"confidence": 0}) is None


def test_a_fired_condition_explains_itself():
    [fired] = evaluate_trigger("any", [("confidence", "lt", 0.7)], {"confidence": 0.42})
    assert fired.explain() == "confidence is below 0.7 (was 0.42)"
