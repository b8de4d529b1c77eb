"""Bad input is a 4xx in the API's JSON error shape, on SQLite and PostgreSQL alike.

NUL characters and lone surrogates anywhere in a JSON body, bodies nested too deeply or with too
many keys, numbers no database keeps, and malformed query parameters are refused with a 400 that
names the field; every refusal carries the request id and changes nothing.
"""

import json

import pytest

from audit.models import AuditEvent
from oversight.models import Case, GateEvaluation, IdempotencyRecord
from tests.oversight.api.conftest import gate_body

GATE = "/api/v1/gate/"
CASES = "/api/v1/cases/"


def counts():
    return (
        GateEvaluation.objects.count(),
        Case.objects.count(),
        AuditEvent.objects.count(),
        IdempotencyRecord.objects.count(),
    )


def post_raw(client, url, text: str, **extra):
    """POST `text` as it is: the test client's own JSON encoder cannot write a lone surrogate."""
    return client.post(url, text, content_type="application/json", **extra)


def as_json(body) -> str:
    # ensure_ascii writes "\u0000" and "\ud800" as escapes, exactly what a client sends.
    return json.dumps(body, ensure_ascii=True)


def assert_refused(response, status, code, *, field=None, message=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["request_id"] == response["X-Request-ID"]
    if field is not None:
        assert field in error["fields"], error
    if message is not None:
        assert message in error["message"], error
    return error


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"context": {"order_id": "A-1\u00000"}}, "context.order_id"),
        ({"context": {"order_id": "A-1", "nested": {"deep": ["ok", "\u0000"]}}}, None),
        ({"signals": {"confidence": 0.9, "note": "\u0000"}}, "signals.note"),
        ({"proposal": {"reply": "x\u0000y"}}, "proposal.reply"),
        ({"proposal": "\u0000"}, "proposal"),
        ({"subject_ref": "cust\u0000"}, "subject_ref"),
    ],
)
def test_a_nul_character_anywhere_is_refused_naming_the_field(client, refunds, override, field):
    before = counts()
    response = post_raw(client, GATE, as_json(gate_body(**override)))
    error = assert_refused(response, 400, "invalid_input", field=field)
    assert "NUL" in error["message"]
    if field is None:
        assert "context.nested.deep[1]" in error["fields"]
    assert counts() == before


def test_a_nul_character_in_a_key_is_refused_and_the_key_is_named_escaped(client, refunds):
    before = counts()
    response = post_raw(client, GATE, as_json(gate_body(context={"order_id": "A", "k\u0000": 1})))
    error = assert_refused(response, 400, "invalid_input")
    assert list(error["fields"]) == ["context.k\\u0000"]
    assert counts() == before


@pytest.mark.parametrize(
    "override",
    [
        {"context": {"order_id": "\ud800"}},
        {"signals": {"confidence": 0.9, "note": "a\udfffb"}},
        {"proposal": {"\udc00": "reply"}},
    ],
)
def test_a_lone_surrogate_is_refused(client, refunds, override):
    before = counts()
    response = post_raw(client, GATE, as_json(gate_body(**override)))
    error = assert_refused(response, 400, "invalid_input")
    assert "surrogate" in error["message"]
    assert counts() == before


def test_a_surrogate_pair_is_a_character_like_any_other(client, refunds):
    response = post_raw(client, GATE, as_json(gate_body(proposal={"reply": "Thanks 😀"})))
    assert response.status_code == 200, response.json()
    assert GateEvaluation.objects.count() == 1


@pytest.mark.parametrize("depth", [33, 200, 1000, 5000, 100_000])
def test_deep_nesting_is_refused_before_anything_reads_it(client, refunds, depth):
    before = counts()
    body = gate_body(context={"order_id": "A"}, reason="customer_requested_human")
    text = as_json(body).replace(
        '"context": {', '"context": {"deep": ' + "[" * depth + "]" * depth + ", ", 1
    )
    response = post_raw(client, CASES, text, HTTP_IDEMPOTENCY_KEY="deep")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("invalid_input", "malformed_json")
    assert "deep" in response.json()["error"]["message"]
    assert counts() == before


def test_nesting_at_the_limit_is_accepted(client, refunds, settings):
    settings.INPUT_JSON_MAX_DEPTH = 6
    # body {} → context {} → a [] → [] → [] → [] is six levels.
    body = gate_body(context={"order_id": "A", "a": [[[[]]]]})
    assert post_raw(client, GATE, as_json(body)).status_code == 200
    body = gate_body(context={"order_id": "A", "a": [[[[[]]]]]})
    response = post_raw(client, GATE, as_json(body))
    assert_refused(response, 400, "invalid_input", field="context.a[0][0][0][0]")


def test_too_many_keys_are_refused(client, refunds, settings):
    settings.INPUT_JSON_MAX_KEYS = 50
    before = counts()
    context = {"order_id": "A", **{f"k{i}": i for i in range(60)}}
    response = post_raw(client, GATE, as_json(gate_body(context=context)))
    error = assert_refused(response, 400, "invalid_input")
    assert "50 keys" in error["message"]
    assert counts() == before


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400, "1" + "0" * 5000])
def test_numbers_no_database_keeps_are_refused(client, refunds, number):
    before = counts()
    text = as_json(gate_body(context={"order_id": "A"})).replace(
        '"context": {', f'"context": {{"n": {number}, ', 1
    )
    response = post_raw(client, GATE, text)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["request_id"] == response["X-Request-ID"]
    assert counts() == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_numbers_are_malformed_json(client, refunds, literal):
    text = as_json(gate_body()).replace('"confidence": 0.95', f'"confidence": {literal}')
    assert_refused(post_raw(client, GATE, text), 400, "malformed_json")


def test_a_body_that_is_not_utf8_is_malformed_json(client, refunds):
    response = post_raw(client, GATE, as_json(gate_body()).encode().replace(b"A-10023", b"\xff"))
    assert_refused(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_since=2026-13-45T99:99Z", "updated_since"),
        ("updated_since=2026-02-30T10:00Z", "updated_since"),
        ("updated_since=9999-12-31T23:59:59-23:59", "updated_since"),
        ("updated_since=0001-01-01T00:00:00%2B23:59", "updated_since"),
        ("updated_since=2026-03-03T09:00", "updated_since"),
        ("updated_since=%00", "updated_since"),
        ("journey=%00", "journey"),
        ("journey=no-such-journey", "journey"),
        ("status=%00", "status"),
        ("status=opened", "status"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page_size=-1", "page_size"),
        ("page_size=%00", "page_size"),
        ("colour=blue", "colour"),
        ("%00=1", "\\u0000"),
    ],
)
def test_bad_query_parameters_are_refused_naming_them(client, refunds, query, field):
    response = client.get(f"{CASES}?{query}")
    assert_refused(response, 400, "invalid_input", field=field)


def test_good_query_parameters_still_filter(client, refunds):
    query = "status=open,decided&updated_since=2026-03-03T09:00Z&journey=refunds&page=1&page_size=5"
    response = client.get(f"{CASES}?{query}")
    assert response.status_code == 200, response.json()
    assert response.json()["results"] == []


def test_an_unknown_api_url_is_a_json_404(client, refunds, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/nothing-here/")
    assert_refused(response, 404, "not_found")
    response = client.get("/api/v2/gate/")
    assert_refused(response, 404, "not_found")


def test_an_unknown_api_url_is_a_json_404_with_debug_on_too(client, refunds, settings):
    settings.DEBUG = True
    assert_refused(client.get("/api/v1/nothing-here/"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_a_json_500_with_the_request_id_logged(
    client, refunds, settings, monkeypatch, caplog, debug
):
    settings.DEBUG = debug
    client.raise_request_exception = False

    def explode(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("oversight.api.views.evaluate_gate", explode)
    before = counts()
    response = post_raw(client, GATE, as_json(gate_body()))
    error = assert_refused(response, 500, "server_error")
    assert "a bug" not in response.content.decode()
    assert error["request_id"] in error["message"]
    logged = [r for r in caplog.records if error["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert counts() == before


def test_every_response_carries_a_fresh_request_id(client, refunds):
    first = client.get("/api/v1/ping/")
    second = client.get("/api/v1/ping/")
    assert first.status_code == 200
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_missing_key_is_json_with_a_request_id(refunds):
    from rest_framework.test import APIClient

    assert_refused(APIClient().get("/api/v1/ping/"), 401, "missing_api_key")


def test_a_format_the_api_does_not_speak_is_a_json_404(client, refunds):
    """Found by the property test: DRF's `?format=` negotiation raised an Http404 that the
    error handler could not read, a 500."""
    assert_refused(client.get("/api/v1/cases/?format=xml"), 404, "not_found")


def test_log_lines_name_the_request_they_were_written_for(rf):
    import logging

    from oversight.api.middleware import RequestIdLogFilter

    request = rf.get("/api/v1/ping/")
    request.request_id = "abc123"
    record = logging.LogRecord("django.request", logging.WARNING, "", 0, "Not Found", (), None)
    record.request = request
    assert RequestIdLogFilter().filter(record) is True
    assert record.request_id == "abc123"
    outside = logging.LogRecord("x", logging.INFO, "", 0, "startup", (), None)
    RequestIdLogFilter().filter(outside)
    assert outside.request_id == "-"


def test_the_console_log_format_carries_the_request_id(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["filters"] == ["request_id"]
    assert "%(request_id)s" in settings.LOGGING["formatters"][handler["formatter"]]["format"]
