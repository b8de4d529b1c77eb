"""docs/api.md's requests, run as written against the demo data: each answers as the doc says.

Every `curl ... -d '<json>'` POST in the guide is sent with a key of the demo's AI system; the
status the doc states beside it (`# -> 202`) must be the answer, and every `"reasons"` example
in the guide must be words the product really says for that request.
"""

import json
import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.demo import SYSTEM_SLUG
from oversight.models import AISystem
from oversight.services.credentials import create_api_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_demo")]

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "api.md"
CURL = re.compile(
    r"curl -s http://127\.0\.0\.1:8000(?P<path>/api/v1/\S+) \\\n(?P<options>.*?)-d '(?P<body>.*?)'"
    r"(?P<after>.*?)```",
    re.S,
)
STATUS = re.compile(r"# -> (\d{3})")


def doc_requests():
    text = GUIDE.read_text()
    found = []
    for match in CURL.finditer(text):
        expected = STATUS.search(match["after"])
        assert expected, f"{match['path']}: say the expected status after the request (# -> 201)"
        found.append((match["path"], json.loads(match["body"]), int(expected[1])))
    return found


def test_the_guide_has_its_post_examples():
    assert {path for path, _, _ in doc_requests()} >= {
        "/api/v1/gate/",
        "/api/v1/cases/",
        "/api/v1/outcomes/",
        "/api/v1/precedents/",
    }


def test_each_documented_request_answers_as_documented():
    _, key = create_api_key(
        ai_system=AISystem.objects.get(slug=SYSTEM_SLUG), name="docs", actor=Actor.system("t")
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    last_evaluation = None
    text = GUIDE.read_text()
    for path, body, status in doc_requests():
        if body.get("evaluation") == "<evaluation id>":
            body["evaluation"] = last_evaluation
        response = api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"doc-{path}")
        assert response.status_code == status, (path, response.json())
        answer = response.json()
        if path == "/api/v1/gate/":
            last_evaluation = answer["evaluation"]
            for reason in answer.get("reasons", []):
                assert reason in text, f"the guide should quote the reason {reason!r}"
