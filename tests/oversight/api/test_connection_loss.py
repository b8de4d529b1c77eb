"""A gate call whose database connection was killed: a reconnect or a 503 to retry, never a 500.

The connection is terminated from a second connection (`pg_terminate_backend`), as a server
restart, a failover or an administrator would. With health checks on (the default), Django
notices the dead connection before the request's first query and opens a new one; with them
off, the request fails on its first query and answers 503 with Retry-After in the API's JSON
error shape, having written nothing. The request after it works again.
"""

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client

from oversight.models import Case, GateEvaluation
from tests.factories import SuperUserFactory
from tests.oversight.api.conftest import gate_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/gate/"


def terminate_our_connection() -> None:
    """Kill the test's database connection from outside, as a server restart would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        [(terminated,)] = other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchall()
    assert terminated


def request_starts() -> None:
    """What Django's handler does as a real request starts (the test client skips it)."""
    close_old_connections()


@pytest.fixture
def health_checks():
    """Set CONN_HEALTH_CHECKS on the live connection (read when it connects); restore after."""
    original = connection.settings_dict["CONN_HEALTH_CHECKS"]

    def use(enabled: bool) -> None:
        connection.close()
        connection.settings_dict["CONN_HEALTH_CHECKS"] = enabled
        connection.ensure_connection()

    yield use
    connection.close()
    connection.settings_dict["CONN_HEALTH_CHECKS"] = original


def test_with_health_checks_a_connection_killed_between_requests_is_replaced(
    postgres_only, client, refunds, health_checks
):
    health_checks(True)
    terminate_our_connection()
    request_starts()

    response = client.post(URL, gate_body(), format="json")

    assert response.status_code == 200, response.content
    assert GateEvaluation.objects.filter(pk=response.json()["evaluation"]).exists()


def test_without_health_checks_the_call_answers_503_json_with_retry_after_and_writes_nothing(
    postgres_only, client, refunds, health_checks
):
    health_checks(False)
    terminate_our_connection()
    request_starts()

    response = client.post(URL, gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="call-1")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"].startswith("The database connection was lost while answering")

    request_starts()  # the broken connection is discarded at the next request
    assert (GateEvaluation.objects.count(), Case.objects.count()) == (0, 0)
    retried = client.post(URL, gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    assert retried.status_code == 200, retried.content
    assert GateEvaluation.objects.count() == 1


def test_an_admin_page_whose_connection_was_killed_answers_503_with_retry_after(
    postgres_only, health_checks
):
    health_checks(False)
    browser = Client()
    browser.force_login(SuperUserFactory())
    terminate_our_connection()
    request_starts()

    response = browser.get("/admin/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database connection was lost" in response.content.decode()
    request_starts()
    assert browser.get("/admin/").status_code == 200


def test_an_api_call_sends_no_health_check_ping_the_key_read_checks_instead(
    postgres_only, client, refunds, health_checks, monkeypatch
):
    """Django's health check costs a round trip ("SELECT 1") per request; on the API's paths
    the key read, always the first statement, stands in for it (test above: a dead connection
    is still replaced). Pages keep Django's ping."""
    health_checks(True)
    pings = []
    original = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: pings.append(1) or original())

    request_starts()
    assert client.post(URL, gate_body(), format="json").status_code == 200
    request_starts()
    assert client.get("/api/v1/ping/").status_code == 200
    assert pings == []

    browser = Client()
    browser.force_login(SuperUserFactory())
    request_starts()
    pings.clear()
    assert browser.get("/admin/").status_code == 200
    assert pings == [1]
