"""POST /api/v1/gate/ with a callback_url: the SSRF policy refuses internal targets up front."""

import pytest

from audit.models import AuditEvent
from oversight.models import Case, GateEvaluation
from tests.oversight.api.conftest import gate_body

URL = "/api/v1/gate/"
LOW_CONFIDENCE = {"confidence": 0.5, "sentiment": 0.0}


def counts():
    return (GateEvaluation.objects.count(), Case.objects.count(), AuditEvent.objects.count())


def post(client, callback_url):
    body = gate_body(signals=LOW_CONFIDENCE, callback_url=callback_url)
    return client.post(URL, body, format="json")


@pytest.mark.parametrize(
    ("callback_url", "reason"),
    [
        ("http://127.0.0.1:8111/hook", "loopback"),
        ("http://localhost/", "this machine"),
        ("http://[::1]/", "loopback"),
        ("http://example.com@127.0.0.1/", "user name or password"),
        ("http://user:pw@bot.example.com/", "user name or password"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://169.254.10.10/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "shared"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://[fc00::1]/", "private"),
        ("http://api.localhost/", "this machine"),
        ("https://oversight.example.com/admin/", "HITL Oversight itself"),
        ("ftp://bot.example.com/hook", "http:// and https://"),
    ],
)
def test_an_internal_callback_url_is_refused_and_nothing_is_stored(
    client, refunds, settings, callback_url, reason
):
    settings.ALLOWED_HOSTS = ["oversight.example.com", "testserver"]
    before = counts()
    response = post(client, callback_url)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert "callback_url" in error["fields"]
    assert reason in str(error["fields"]["callback_url"])
    assert counts() == before


def test_a_public_callback_url_is_accepted_and_kept_on_the_case(client, refunds):
    response = post(client, "https://bot.example.com/hitl/decisions")
    assert response.status_code == 202, response.json()
    assert Case.objects.get().callback_url == "https://bot.example.com/hitl/decisions"


def test_an_allow_listed_internal_receiver_is_accepted(client, refunds, settings):
    settings.WEBHOOK_ALLOWED_TARGETS = ["10.0.0.0/8", "hooks.internal"]
    assert post(client, "http://10.1.2.3/hook").status_code == 202
    assert post(client, "http://hooks.internal:9000/hook").status_code == 202
    assert Case.objects.count() == 2
