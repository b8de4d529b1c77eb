"""One log line per request, in JSON with LOG_FORMAT=json: request id, who, status, duration;
never an API key, a header or anything from a payload."""

import io
import json
import logging
import logging.config

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from hitl_project.env import log_format, logging_config
from oversight.services.credentials import create_api_key
from tests.factories import JourneyFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

CONTEXT_MARKER = "jane.doe-4471@example.org"  # personal data an AI system might send
PROPOSAL_MARKER = "Dear Jane Doe, refund of order Z-99813"


@pytest.fixture
def json_log():
    """The production logging configuration (LOG_FORMAT=json), writing into a buffer."""
    config = logging_config(fmt="json", level="INFO")
    buffer = io.StringIO()
    config["handlers"]["console"]["stream"] = buffer
    previous = logging.root.handlers[:], logging.root.level
    logging.config.dictConfig(config)
    yield buffer
    logging.root.handlers[:] = previous[0]
    logging.root.setLevel(previous[1])


def lines(buffer) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def request_lines(buffer) -> list[dict]:
    return [line for line in lines(buffer) if line["logger"] == "hitl.requests"]


@pytest.fixture
def api():
    journey = JourneyFactory(
        slug="refunds", ai_system__slug="support-assistant", required_context_keys=[]
    )
    _, key = create_api_key(ai_system=journey.ai_system, name="t", actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client, key


def gate_body(**overrides) -> dict:
    return {
        "journey": "refunds",
        "action": {"type": "refund", "amount": "40.00", "currency": "EUR"},
        "signals": {"confidence": 0.93},
        "context": {"email": CONTEXT_MARKER},
        "proposal": {"reply": PROPOSAL_MARKER},
        "subject_ref": "cust-1",
        **overrides,
    }


def test_a_gate_call_writes_one_json_line_with_id_system_status_and_duration(api, json_log):
    client, key = api
    response = client.post("/api/v1/gate/", gate_body(), format="json")
    assert response.status_code == 200
    (line,) = request_lines(json_log)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["ai_system"] == "support-assistant"
    assert line["method"] == "POST"
    assert line["path"] == "/api/v1/gate/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["level"] == "INFO"
    assert line["message"].startswith("POST /api/v1/gate/ 200 ")
    assert "user_id" not in line


def test_no_key_context_or_proposal_reaches_the_log_whatever_the_answer(api, json_log):
    client, key = api
    client.post("/api/v1/gate/", gate_body(), format="json")
    # Refused input: the context is echoed nowhere, the refusal line names only the status.
    client.post("/api/v1/gate/", gate_body(journey="no-such-journey"), format="json")
    client.post("/api/v1/gate/?email=" + CONTEXT_MARKER, gate_body(signals="x"), format="json")
    # A wrong key, close to the real one.
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Api-Key {key[:-2]}zz")
    assert wrong.post("/api/v1/gate/", gate_body(), format="json").status_code == 401
    text = json_log.getvalue()
    assert len(request_lines(json_log)) == 4
    prefix = key.partition(".")[0]
    for secret in (key, key[:-2] + "zz", key.partition(".")[2], CONTEXT_MARKER, PROPOSAL_MARKER):
        assert secret not in text
    assert prefix not in text  # not even the key's public prefix
    statuses = [line["status"] for line in request_lines(json_log)]
    assert statuses[0] == 200 and statuses[3] == 401
    assert all(400 <= status < 500 for status in statuses[1:])


def test_a_signed_in_user_is_logged_by_id_and_the_query_string_is_not(client, json_log):
    user = StaffUserFactory(username="rita.reviewer")
    client.force_login(user)
    client.get("/admin/?q=" + CONTEXT_MARKER)
    line = request_lines(json_log)[-1]
    assert line["user_id"] == user.pk
    assert line["path"] == "/admin/"
    assert "rita.reviewer" not in json_log.getvalue()
    assert CONTEXT_MARKER not in json_log.getvalue()


def test_probes_and_scrapes_are_not_logged_while_they_succeed(client, json_log):
    client.get("/health/live/")
    client.get("/metrics")  # refused (403): still not a server error
    assert request_lines(json_log) == []


def test_every_line_is_one_json_object_even_outside_a_request(json_log):
    logging.getLogger("oversight").warning("started %s", "up")
    (line,) = lines(json_log)
    assert line["message"] == "started up"
    assert line["request_id"] == "-"
    assert {"time", "level", "logger"} <= set(line)


@pytest.mark.parametrize(
    ("environ", "debug", "expected"),
    [
        ({}, True, "text"),
        ({}, False, "json"),
        ({"LOG_FORMAT": "JSON"}, True, "json"),
        ({"LOG_FORMAT": "text"}, False, "text"),
    ],
)
def test_log_format_defaults_to_text_in_debug_and_json_otherwise(environ, debug, expected):
    assert log_format(environ, debug=debug) == expected


def test_an_unknown_log_format_is_refused_at_startup():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT='xml' is not one of: json, text"):
        log_format({"LOG_FORMAT": "xml"}, debug=False)


@pytest.fixture
def warning_log():
    """The production logging configuration at LOG_LEVEL=WARNING (what the benchmarks run)."""
    config = logging_config(fmt="json", level="WARNING")
    buffer = io.StringIO()
    config["handlers"]["console"]["stream"] = buffer
    previous = logging.root.handlers[:], logging.root.level
    logging.config.dictConfig(config)
    yield buffer
    logging.root.handlers[:] = previous[0]
    logging.root.setLevel(previous[1])


def test_below_the_log_level_no_line_is_built_for_a_call(api, warning_log, monkeypatch):
    """At WARNING a successful call writes nothing and does not even look up who acted."""
    from operations import request_log

    looked_up = []
    monkeypatch.setattr(request_log, "acting_party", lambda request: looked_up.append(1) or {})
    client, _ = api
    assert client.get("/api/v1/ping/").status_code == 200
    assert request_lines(warning_log) == []
    assert looked_up == []


def test_at_warning_a_server_error_is_still_logged_with_who_acted(api, warning_log, monkeypatch):
    from oversight.api import views

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.PingView, "get", fail)
    client, _ = api
    client.raise_request_exception = False
    assert client.get("/api/v1/ping/").status_code == 500
    (line,) = request_lines(warning_log)
    assert line["status"] == 500
    assert line["ai_system"] == "support-assistant"
