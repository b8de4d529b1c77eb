"""/metrics: Prometheus text with django-prometheus's and the product's figures, for allowed
scrapers only; the product's figures recomputed here from the rows the test made."""

import datetime

import pytest
import time_machine
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.models import VerificationTrigger
from audit.services.verification import run_verification
from operations.metrics.product import PRODUCT_QUERIES
from operations.tasks import heartbeat
from oversight.models import WebhookDelivery
from oversight.models.gate import Route
from oversight.services.rollups import roll_up_gate_days
from tests.factories import (
    CaseFactory,
    GateEvaluationFactory,
    JourneyFactory,
    ReportRequestFactory,
    TrainingCompletionFactory,
)

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}

PRODUCT_METRICS = {
    "hitl_gate_calls",
    "hitl_open_cases",
    "hitl_oldest_open_case_age_seconds",
    "hitl_sla_breaches",
    "hitl_webhook_backlog",
    "hitl_webhook_failures",
    "hitl_report_requests",
    "hitl_ledger_last_verification_age_seconds",
    "hitl_ledger_pending_events_stale",
    "hitl_training_expiring_30d",
    "hitl_task_cluster_heartbeat_age_seconds",
}


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client) -> dict:
    response = client.get("/metrics", **BEARER)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }


def samples(family, suffix="") -> dict:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for sample in family.samples
        if sample.name == family.name + suffix
    }


def test_a_scrape_has_the_product_and_django_prometheus_metric_names(client, scraper):
    families = scrape(client)
    assert set(families) >= PRODUCT_METRICS
    # django-prometheus: requests by view and method, and its latency histogram.
    assert "django_http_requests_before_middlewares" in families
    assert "django_http_requests_latency_seconds_by_view_method" in families


def test_gate_calls_count_rolled_up_days_and_today_by_system_journey_and_route(
    client, scraper, time_machine
):
    journey = JourneyFactory(slug="refunds", ai_system__slug="assistant")
    other = JourneyFactory(slug="billing", ai_system=journey.ai_system)
    now = timezone.now()
    three_days_ago = now - datetime.timedelta(days=3)
    for route, n in ((Route.AUTOMATE, 3), (Route.HUMAN, 2), (Route.BLOCKED, 1)):
        for _ in range(n):
            GateEvaluationFactory(journey=journey, route=route, created_at=three_days_ago)
    roll_up_gate_days(now=now)
    # Today's calls, not rolled up yet.
    GateEvaluationFactory.create_batch(4, journey=journey, route=Route.AUTOMATE)
    GateEvaluationFactory(journey=other, route=Route.HUMAN)
    family = scrape(client)["hitl_gate_calls"]
    assert family.type == "counter"
    assert samples(family, "_total") == {
        (("ai_system", "assistant"), ("journey", "billing"), ("route", "human")): 1.0,
        (("ai_system", "assistant"), ("journey", "refunds"), ("route", "automate")): 7.0,
        (("ai_system", "assistant"), ("journey", "refunds"), ("route", "blocked")): 1.0,
        (("ai_system", "assistant"), ("journey", "refunds"), ("route", "human")): 2.0,
    }


def test_open_cases_oldest_age_and_sla_breaches_by_journey(client, scraper, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    now = timezone.now()
    journey = JourneyFactory(slug="refunds", ai_system__slug="assistant")
    CaseFactory(journey=journey, opened_at=now - datetime.timedelta(hours=2))
    CaseFactory(
        journey=journey,
        status="escalated",
        opened_at=now - datetime.timedelta(minutes=5),
        sla_breached_at=now - datetime.timedelta(minutes=1),
    )
    CaseFactory(
        journey=journey,
        status="decided",
        decided_at=now - datetime.timedelta(days=7),
        opened_at=now - datetime.timedelta(days=9),
        sla_breached_at=now - datetime.timedelta(days=8),
    )
    families = scrape(client)
    key = (("ai_system", "assistant"), ("journey", "refunds"))
    assert samples(families["hitl_open_cases"]) == {key: 2.0}
    assert samples(families["hitl_oldest_open_case_age_seconds"]) == {key: 7200.0}
    assert samples(families["hitl_sla_breaches"], "_total") == {key: 2.0}


def test_webhook_backlog_failures_reports_ledger_training_and_heartbeat(
    client, scraper, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    case = CaseFactory(journey__ai_system__slug="assistant")
    for status in ("pending", "pending", "failed", "delivered"):
        WebhookDelivery.objects.create(
            ai_system=case.journey.ai_system,
            case=case,
            event="case.decided",
            url="https://hooks.example.com/x",
            body="{}",
            status=status,
        )
    ReportRequestFactory.create_batch(2)  # queued
    ReportRequestFactory(status="failed")
    today = timezone.localdate()
    soon = TrainingCompletionFactory(
        module_version__module__slug="ai-basics",
        expires_on=today + datetime.timedelta(days=10),
    )
    # Renewed: a later completion of the same module expires next year, so not counted.
    renewed = TrainingCompletionFactory(module_version=soon.module_version)
    TrainingCompletionFactory(
        user=renewed.user,
        module_version=soon.module_version,
        completed_on=today,
        expires_on=today + datetime.timedelta(days=365),
    )
    TrainingCompletionFactory(
        module_version=soon.module_version, expires_on=today + datetime.timedelta(days=40)
    )
    heartbeat()
    run_verification(triggered_by=VerificationTrigger.COMMAND)
    time_machine.move_to(timezone.now() + datetime.timedelta(seconds=90), tick=False)

    families = scrape(client)
    assert samples(families["hitl_webhook_backlog"]) == {(("ai_system", "assistant"),): 2.0}
    assert samples(families["hitl_webhook_failures"], "_total") == {
        (("ai_system", "assistant"),): 1.0
    }
    assert samples(families["hitl_report_requests"]) == {
        (("state", "queued"),): 2.0,
        (("state", "running"),): 0.0,
        (("state", "done"),): 0.0,
        (("state", "failed"),): 1.0,
    }
    assert samples(families["hitl_ledger_last_verification_age_seconds"]) == {(): 90.0}
    assert samples(families["hitl_training_expiring_30d"]) == {(("module", "ai-basics"),): 1.0}
    assert samples(families["hitl_task_cluster_heartbeat_age_seconds"]) == {(): 90.0}


def test_ledger_events_left_unchained_over_a_minute_are_counted(client, scraper):
    from audit.services.ledger import Actor, record_event

    with time_machine.travel(timezone.now() - datetime.timedelta(minutes=5)):
        record_event(actor=Actor.system(), action="test.left")  # its process died: no seal
    record_event(actor=Actor.system(), action="test.moments_ago")

    families = scrape(client)

    assert samples(families["hitl_ledger_pending_events_stale"]) == {(): 1.0}


def test_never_verified_and_never_beaten_read_minus_one(client, scraper):
    families = scrape(client)
    assert samples(families["hitl_ledger_last_verification_age_seconds"]) == {(): -1.0}
    assert samples(families["hitl_task_cluster_heartbeat_age_seconds"]) == {(): -1.0}


def test_the_product_figures_cost_a_fixed_number_of_queries(
    client, scraper, django_assert_max_num_queries
):
    journey = JourneyFactory()
    GateEvaluationFactory.create_batch(3, journey=journey)
    CaseFactory.create_batch(3, journey=journey)
    TrainingCompletionFactory.create_batch(3)
    with django_assert_max_num_queries(PRODUCT_QUERIES):
        client.get("/metrics", **BEARER)
    assert PRODUCT_QUERIES == 11


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
    ],
)
def test_a_scraper_without_the_token_is_refused_and_learns_nothing(
    client, scraper, headers, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/metrics", **headers)
    assert response.status_code == 403
    assert b"hitl_" not in response.content
    assert b"Metrics are available to a scraper with the metrics token" in response.content


def test_with_nothing_configured_everyone_is_refused(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_an_allowed_network_may_scrape_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.2").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="garbage").status_code == 403
