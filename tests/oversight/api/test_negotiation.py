"""The API's content negotiation (oversight/api/negotiation.py) answers exactly as DRF's own:
the same status, Content-Type and body for every Accept header and format asked for, the usual
ones taken without parsing, the others (406, 404 for an unknown format) through DRF."""

import json

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.api import views
from oversight.api.negotiation import JSONFirstNegotiation
from oversight.services.credentials import create_api_key
from tests.factories import AISystemFactory

pytestmark = pytest.mark.django_db

ACCEPT = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "*/*;q=0.1",
    "",
]
PATHS = ["/api/v1/ping/", "/api/v1/ping/?format=json", "/api/v1/ping/?format=xml"]


@pytest.fixture
def key():
    system = AISystemFactory(slug="support-assistant")
    return create_api_key(ai_system=system, name="t", actor=Actor.system("t"))[1]


def answers(key) -> list:
    seen = []
    for accept in ACCEPT:
        headers = {} if accept is None else {"HTTP_ACCEPT": accept}
        for authorization in (f"Api-Key {key}", None):
            client = APIClient()
            if authorization:
                client.credentials(HTTP_AUTHORIZATION=authorization)
            calls = [client.get(path, **headers) for path in PATHS]
            calls.append(
                client.post("/api/v1/gate/", b"{", content_type="application/json", **headers)
            )
            calls.append(client.post("/api/v1/gate/", {}, format="json", **headers))
            for response in calls:
                body = json.loads(response.content) if response.content else None
                if isinstance(body, dict) and isinstance(body.get("error"), dict):
                    body["error"].pop("request_id", None)
                seen.append((accept, response.status_code, response.get("Content-Type"), body))
    return seen


def test_the_api_views_use_it():
    assert views.PingView.content_negotiation_class is JSONFirstNegotiation
    assert views.GateView.content_negotiation_class is JSONFirstNegotiation


def test_answers_equal_drfs_own_negotiation(key, monkeypatch):
    ours = answers(key)
    monkeypatch.setattr(
        views.AISystemAPIView, "content_negotiation_class", DefaultContentNegotiation
    )
    drf = answers(key)
    assert ours == drf
    statuses = {status for _, status, _, _ in ours}
    assert {200, 400, 401, 406} <= statuses  # the table reaches each kind of answer
