"""Property: whatever an AI system sends, the API answers below 500, in its JSON error shape.

Hypothesis generates JSON bodies for the gate, case and outcome endpoints (NUL characters, lone
surrogates, deep nests, huge and non-finite numbers, odd types, unknown fields, raw bytes) and
query strings for the list and detail endpoints. Every answer must be JSON; every 4xx must carry
`error.code`, `error.message` and the request id of its `X-Request-ID` header. Derandomized
with bounded examples, so a run is repeatable and takes seconds.
"""

import json
import urllib.parse
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.oversight.api.conftest import gate_body

PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    # The API client and the journey are made once per test, not per example: each example's
    # request is independent of the others' (refusals change nothing; accepted calls only add).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every code point, NUL and lone surrogates included, plus the values that broke the API once.
odd_text = (
    st.text(max_size=12) | st.text(alphabet=st.characters(), max_size=12)
) | st.sampled_from(
    ["\x00", "\ud800", "a\udfffb", "😀", "", " ", "refunds", "2026-13-45T99:99Z", "\u202e"]
)
numbers = (
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.integers()
    | st.sampled_from([2**53 + 1, 2**63, -(2**63) - 1, 10**300, -(10**400)])
    | st.floats()  # NaN and ±Infinity included: sent as the literals NaN / Infinity
    | st.decimals(allow_nan=False, allow_infinity=False).map(float)
)
json_leaf = st.none() | st.booleans() | numbers | odd_text
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4)
    ),
    max_leaves=12,
)


def valid_or_junk(valid):
    return valid | json_values


signal_names = st.sampled_from(["confidence", "sentiment", "policy_terms", "x"]) | odd_text
unknown_fields = st.sampled_from(["ai_system", "status", "decided_by", "id"]) | odd_text


def as_dict(value) -> dict:
    """An earlier change may have made the field something else: start it again."""
    return value if isinstance(value, dict) else {}


@st.composite
def submissions(draw, *, reason: bool):
    """A valid body with up to three things made odd, so most examples reach the services."""
    body = gate_body()
    if reason:
        body["reason"] = draw(st.sampled_from(["customer_requested_human", "system_unsure"]))
    # Free-form JSON (context, proposal) is what reaches the database: drawn most often.
    kinds = ["context", "context", "proposal", "proposal", "signal", "action", "field", "unknown"]
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=3)):
        if kind == "context":
            body["context"] = {**as_dict(body["context"]), draw(odd_text): draw(json_values)}
        elif kind == "proposal":
            body["proposal"] = draw(json_values)
        elif kind == "signal":
            body["signals"] = {**as_dict(body["signals"]), draw(signal_names): draw(json_values)}
        elif kind == "action":
            key = draw(st.sampled_from(["type", "amount", "currency", "irreversible", "extra"]))
            body["action"] = {**as_dict(body["action"]), key: draw(json_values)}
        elif kind == "field":
            body[draw(st.sampled_from(sorted(body)))] = draw(json_values)
        else:
            body[draw(unknown_fields)] = draw(json_values)
    return body


@st.composite
def outcomes(draw):
    """A valid report (EVALUATION is a real evaluation's id) with up to three changes."""
    body = {"evaluation": "EVALUATION", "customer_effort": 2}
    fields = ["evaluation", "case", "customer_effort", "repeat_contact", "complaint", "reversed"]
    for name in draw(st.lists(st.sampled_from([*fields, "note"]) | unknown_fields, max_size=3)):
        if name == "case":
            body[name] = draw(st.uuids().map(str) | json_values)
        else:
            body[name] = draw(json_values)
    return body


def as_json(value) -> str:
    # ensure_ascii: NUL and lone surrogates go over the wire as \u escapes, as a client sends.
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def nested(depth: int, opener: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + "0" + closer * depth


# Bodies no JSON encoder writes: deep nests, numbers past a double or past 4,300 digits, bytes.
raw_bodies = (
    st.builds(
        lambda depth, opener: as_json(gate_body()).replace(
            '"proposal": {', '"proposal": {"deep": ' + nested(depth, opener) + ", ", 1
        ),
        st.sampled_from([31, 32, 33, 999, 1000, 1001, 50_000]),
        st.sampled_from(["[", '{"a":']),
    )
    | st.builds(
        lambda number: as_json(gate_body()).replace("0.95", number, 1),
        st.sampled_from(["1e400", "-1e400", "1" + "0" * 5000, "NaN", "-Infinity", "1E+308"]),
    )
    | st.binary(max_size=64)
)
hostile_bodies = json_values.map(as_json) | raw_bodies


def mostly(near_valid, hostile):
    """Three examples in four near-valid (they reach the services), one hostile."""
    return st.integers(0, 3).flatmap(lambda pick: hostile if pick == 0 else near_valid)


gate_bodies = mostly(submissions(reason=False).map(as_json), hostile_bodies)
case_bodies = mostly(submissions(reason=True).map(as_json), hostile_bodies)


def assert_answered(response) -> None:
    """Below 500, JSON, and a 4xx in the error shape with its request id."""
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response.content[:300]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert error["request_id"] == response["X-Request-ID"], error
        if "fields" in error:
            assert all(isinstance(name, str) for name in error["fields"]), error


def answered(response) -> None:
    """assert_answered, counted: `pytest --hypothesis-show-statistics` shows the spread."""
    event(f"HTTP {response.status_code}")
    assert_answered(response)


def post(client, url: str, body) -> None:
    answered(client.post(url, body, content_type="application/json"))


@PROPERTY_SETTINGS
@given(body=gate_bodies)
def test_the_gate_never_answers_5xx(client, refunds, body):
    post(client, "/api/v1/gate/", body)


@PROPERTY_SETTINGS
@given(body=case_bodies)
def test_opening_a_case_never_answers_5xx(client, refunds, body):
    post(client, "/api/v1/cases/", body)


@PROPERTY_SETTINGS
@given(body=mostly(outcomes().map(as_json), hostile_bodies))
def test_reporting_an_outcome_never_answers_5xx(client, refunds, evaluation_id, body):
    if isinstance(body, str):
        body = body.replace("EVALUATION", evaluation_id)
    post(client, "/api/v1/outcomes/", body)


@pytest.fixture
def evaluation_id(client, refunds) -> str:
    response = client.post("/api/v1/gate/", as_json(gate_body()), content_type="application/json")
    return response.json()["evaluation"]


parameter_names = (
    st.sampled_from(["status", "updated_since", "journey", "page", "page_size", "format"])
    | odd_text
)
parameter_values = odd_text | st.sampled_from(
    [
        "2026-13-45T99:99Z",
        "2026-02-30T10:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2026-03-03T09:00Z",
        "2026-03-03T09:00",
        "open,decided",
        "open,,",
        "refunds",
        "last",
        "0",
        "-1",
        "99999999999999999999",
    ]
)
query_strings = st.lists(st.tuples(parameter_names, parameter_values), max_size=4).map(
    # surrogatepass writes a lone surrogate as the invalid UTF-8 bytes a client could send.
    lambda pairs: urllib.parse.urlencode(pairs, errors="surrogatepass")
) | st.binary(max_size=24).map(lambda raw: "journey=" + urllib.parse.quote_from_bytes(raw))
list_paths = st.sampled_from(["/api/v1/cases/", "/api/v1/journeys/", "/api/v1/ping/"]) | st.uuids(
    version=4
).map(lambda case_id: f"/api/v1/cases/{case_id}/")


@PROPERTY_SETTINGS
@given(path=list_paths, query=query_strings)
def test_reading_never_answers_5xx(client, refunds, path, query):
    answered(client.get(f"{path}?{query}"))


def test_the_properties_reach_past_the_parser(client, refunds):
    """Guards the guard: a plain valid call through the same helpers is accepted."""
    response = client.post("/api/v1/gate/", as_json(gate_body()), content_type="application/json")
    assert response.status_code == 200, response.json()
    assert_answered(client.get(f"/api/v1/cases/{uuid.uuid4()}/"))
