"""The gate's plain body path (oversight.api.plain_gate_body) against the serializer.

For every body of the table: the plain path either steps aside (None) or gives exactly the
GateRequest the serializer gives; it never accepts a body the serializer refuses. The ordinary
bodies of the API's clients must take the plain path (or it saves nothing).
"""

import pytest

from oversight.api.plain_gate_body import plain_gate_request
from oversight.api.serializers import GateRequestSerializer
from tests.oversight.api.conftest import gate_body

ACTION = {"type": "refund", "amount": "40.00", "currency": "EUR"}


def with_action(**changes):
    action = {**ACTION, **changes}
    return gate_body(action={k: v for k, v in action.items() if v is not ...})


def without(*names):
    body = gate_body()
    for name in names:
        body.pop(name)
    return body


# (name, body, takes the plain path)
BODIES = [
    ("ordinary", gate_body(), True),
    ("only the required fields", without("signals", "context", "proposal", "subject_ref"), True),
    ("no amount", with_action(amount=..., currency=...), True),
    ("null amount, blank currency", with_action(amount=None, currency=""), True),
    ("whole amount", with_action(amount="40"), True),
    ("one decimal", with_action(amount="40.5"), True),
    ("irreversible", with_action(irreversible=True), True),
    ("reversible", with_action(irreversible=False), True),
    (
        "signals of every type",
        gate_body(signals={"a": 1, "b": 0.5, "c": True, "d": "x", "e": ["y"]}),
        True,
    ),
    ("text proposal", gate_body(proposal="Your refund is on its way."), True),
    ("null proposal", gate_body(proposal=None), True),
    ("blank subject", gate_body(subject_ref=""), True),
    ("blank callback", gate_body(callback_url=""), True),
    ("longest journey slug", gate_body("j" * 80), True),
    # Everything below: the serializer decides (it accepts some, refuses others).
    ("numeric amount", with_action(amount=40), False),
    ("float amount", with_action(amount=40.5), False),
    ("three decimals", with_action(amount="40.005"), False),
    ("negative amount", with_action(amount="-1.00"), False),
    ("amount with spaces", with_action(amount=" 40.00"), False),
    ("huge amount", with_action(amount="1" * 13), False),
    ("amount without currency", with_action(currency=...), False),
    ("lowercase currency", with_action(currency="eur"), False),
    ("null currency", with_action(currency=None), False),
    ("irreversible as text", with_action(irreversible="true"), False),
    ("irreversible as number", with_action(irreversible=1), False),
    ("irreversible null", with_action(irreversible=None), False),
    ("type with spaces", with_action(type=" refund "), False),
    ("blank type", with_action(type=""), False),
    ("numeric type", with_action(type=7), False),
    ("long type", with_action(type="t" * 101), False),
    ("non-ASCII type", with_action(type="remboursé"), False),
    ("unknown action field", with_action(colour="red"), False),
    ("action not an object", gate_body(action="refund"), False),
    ("no action", without("action"), False),
    ("no journey", without("journey"), False),
    ("journey with spaces", gate_body(" refunds"), False),
    ("journey too long", gate_body("j" * 81), False),
    ("journey not a slug", gate_body("re funds"), False),
    ("journey a number", gate_body(7), False),
    ("unknown field", gate_body(status="decided"), False),
    ("signals not an object", gate_body(signals=["confidence"]), False),
    ("signal name not snake_case", gate_body(signals={"Confidence": 0.9}), False),
    ("signal of a wrong type", gate_body(signals={"confidence": {"v": 1}}), False),
    ("too many signals", gate_body(signals={f"s{n}": n for n in range(101)}), False),
    ("null signals", gate_body(signals=None), False),
    ("context not an object", gate_body(context=["A-1"]), False),
    ("null context", gate_body(context=None), False),
    ("subject with spaces", gate_body(subject_ref=" cust "), False),
    ("null subject", gate_body(subject_ref=None), False),
    ("long subject", gate_body(subject_ref="c" * 129), False),
    ("non-ASCII subject", gate_body(subject_ref="cüst"), False),
    ("a callback URL", gate_body(callback_url="https://bot.example.com/hook"), False),
    ("a refused callback URL", gate_body(callback_url="http://127.0.0.1/hook"), False),
    ("null callback", gate_body(callback_url=None), False),
    ("not an object", ["refunds"], False),
]


@pytest.mark.parametrize(("name", "body", "plain"), BODIES, ids=[b[0] for b in BODIES])
def test_the_plain_path_gives_what_the_serializer_gives_or_steps_aside(name, body, plain):
    fast = plain_gate_request(body)
    serializer = GateRequestSerializer(data=body)
    valid = serializer.is_valid()

    assert (fast is not None) == plain
    if fast is not None:
        assert valid, serializer.errors
        ordinary = serializer.to_gate_request()
        assert fast == ordinary
        amounts = (fast.action.amount, ordinary.action.amount)
        assert [str(a) for a in amounts] == [str(ordinary.action.amount)] * 2  # same digits too


def test_the_table_holds_bodies_the_serializer_refuses_and_accepts_beside_the_plain_path():
    outcomes = {
        GateRequestSerializer(data=body).is_valid() for _, body, plain in BODIES if not plain
    }
    assert outcomes == {True, False}
