"""The decision form reads the modified action with the API's JSON guard (oversight.json_guard).

A NUL character, a lone surrogate, a deep nest or an out-of-range number typed into the
modified action (or a NUL in the rationale) is shown as a form error naming what is wrong, the
input is kept, and nothing changes: not the case, not the decisions, not the ledger.
"""

import pytest

from oversight.exceptions import InvalidInput
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case, parse_final_action
from tests.oversight.reviewing.workspace import html, log_in, review_url, shows, snapshot

pytestmark = pytest.mark.django_db

DEEP = '{"option": "partial refund", "x": ' + "[" * 1000 + "]" * 1000 + "}"


def decide_modified(client, case, reason, final_action, rationale="Half is fair."):
    data = {
        "outcome": "modify",
        "option": "partial refund",
        "final_action": final_action,
        "override_reason": reason.pk,
        "rationale": rationale,
    }
    return client.post(review_url(case, "decide"), data, follow=True)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('{"note": "a\\u0000b"}', "final_action.note: the text contains a NUL character"),
        ('{"n\\u0000": 1}', "final_action.n\\u0000: the name contains a NUL character"),
        ('{"note": "\\ud800"}', "final_action.note: the text contains a lone surrogate"),
        ('"\\udfff"', "final_action: the text contains a lone surrogate"),
        ("partial\x00refund", "Null characters are not allowed."),
        (DEEP, "nested deeper than 32 levels"),
        (
            '{"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}',
            "nested deeper",
        ),
        ('{"amount": 1e400}', "final_action.amount: the number is out of range"),
        ('{"amount": NaN}', "final_action.amount: the number is out of range"),
        ('{"amount": ' + "9" * 5000 + "}", "a number is too long to read"),
    ],
)
def test_unsafe_modified_action_is_a_form_error_and_nothing_changes(
    client, case, senior, reason, typed, message
):
    log_in(client, senior)
    claim_case(case=case, reviewer=senior)
    before = snapshot(case)

    response = decide_modified(client, case, reason, typed)

    assert response.status_code == 200
    assert shows(response, "The decision was not recorded: see the form below.")
    assert shows(response, message), html(response)[-3000:]
    assert "Half is fair." in html(response)  # the input is kept
    assert snapshot(case) == before


def test_a_nul_in_the_rationale_is_a_form_error_and_nothing_changes(client, case, senior, reason):
    log_in(client, senior)
    claim_case(case=case, reviewer=senior)
    before = snapshot(case)

    response = decide_modified(client, case, reason, '{"amount": "20"}', rationale="half\x00")

    assert shows(response, "Null characters are not allowed.")
    assert snapshot(case) == before


def test_a_safe_modified_action_is_still_recorded(client, case, senior, reason):
    log_in(client, senior)
    claim_case(case=case, reviewer=senior)
    response = decide_modified(client, case, reason, '{"amount": "20.00", "note": "😀 ok"}')
    assert shows(response, "as an override"), html(response)[-2000:]
    assert case.decisions.get().final_action == {
        "option": "partial refund",
        "amount": "20.00",
        "note": "😀 ok",
    }


@pytest.mark.parametrize(
    ("final_action", "rationale", "message"),
    [
        ({"option": "partial refund", "note": "\x00"}, "x", "final_action.note"),
        ({"option": "partial refund", "note": "\ud800"}, "x", "lone surrogate"),
        ({"option": "partial refund"}, "x\x00", "rationale: the text contains a NUL"),
    ],
)
def test_the_service_refuses_what_no_database_keeps(
    case, senior, reason, final_action, rationale, message
):
    """decide_case checks too, so a caller other than the form cannot store it either."""
    claim_case(case=case, reviewer=senior)
    before = snapshot(case)
    decision = DecisionInput(
        outcome="modify", final_action=final_action, override_reason=reason, rationale=rationale
    )
    with pytest.raises(InvalidInput, match=message):
        decide_case(case=case, reviewer=senior, decision=decision)
    assert snapshot(case) == before


def test_parse_final_action_uses_the_guard():
    with pytest.raises(InvalidInput, match="NUL"):
        parse_final_action("refund\x00")
    with pytest.raises(InvalidInput, match="nested deeper"):
        parse_final_action(DEEP)
    assert parse_final_action("partial refund") == "partial refund"
