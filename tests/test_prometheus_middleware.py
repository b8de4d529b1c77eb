"""django-prometheus's after-middleware with its labelled series cached
(hitl_project/prometheus_middleware.py) counts exactly what django-prometheus's own does: the
same calls made with each, /metrics scraped before and after, the django_http_* deltas equal."""

from collections import Counter

import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.services.credentials import create_api_key
from tests.factories import AISystemFactory

pytestmark = pytest.mark.django_db

OURS = "hitl_project.prometheus_middleware.PrometheusAfterMiddleware"
UPSTREAM = "django_prometheus.middleware.PrometheusAfterMiddleware"
TOKEN = "metrics-token-for-tests-0123456789"
# Samples that differ between two identical runs: timings, and the response sizes (the /metrics
# answers themselves grow with the series): only how many observations there were is compared.
VARIABLE = ("_latency_", "_responses_body_total_bytes")
DISTRIBUTION = ("_bucket", "_sum")


@pytest.fixture(autouse=True)
def scraper(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


@pytest.fixture
def api_key():
    system = AISystemFactory(slug="support-assistant")
    return create_api_key(ai_system=system, name="t", actor=Actor.system("t"))[1]


def scrape() -> Counter:
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    values = Counter()
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            variable = any(part in sample.name for part in VARIABLE)
            if variable and sample.name.endswith(DISTRIBUTION):
                continue
            if sample.name.startswith("django_http_") and not sample.name.endswith("_created"):
                values[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return values


def calls(api_key) -> None:
    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert keyed.get("/api/v1/ping/").status_code == 200
    assert keyed.get("/api/v1/ping/").status_code == 200
    assert APIClient().get("/api/v1/ping/").status_code == 401
    assert keyed.post("/api/v1/gate/", {"journey": "nope"}, format="json").status_code >= 400
    assert keyed.head("/api/v1/ping/").status_code == 200
    assert keyed.generic("PROPFIND", "/api/v1/ping/").status_code == 405
    assert APIClient().get("/no-such-page/").status_code == 404
    assert APIClient().get("/", HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code < 500
    assert APIClient().get("/", secure=True).status_code < 500


def deltas(settings, middleware: str, api_key) -> Counter:
    settings.MIDDLEWARE = [
        middleware if name in (OURS, UPSTREAM) else name for name in django_settings.MIDDLEWARE
    ]
    before = scrape()
    calls(api_key)
    after = scrape()
    after.subtract(before)
    return +after  # non-zero deltas only (the scrapes themselves count the same in both)


def test_settings_use_the_cached_middleware(settings):
    assert OURS in settings.MIDDLEWARE
    assert UPSTREAM not in settings.MIDDLEWARE


def test_metrics_deltas_equal_django_prometheus_own(settings, api_key):
    upstream = deltas(settings, UPSTREAM, api_key)
    ours = deltas(settings, OURS, api_key)
    assert ours == upstream
    # The comparison is not empty: the calls above show up by status, view and method.
    labelled = {name for name, labels in ours if labels}
    assert {
        "django_http_responses_total_by_status_view_method_total",
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_requests_latency_seconds_by_view_method_count",
        "django_http_requests_total_by_transport_total",
        "django_http_responses_total_by_charset_total",
    } <= labelled
    assert ours["django_http_ajax_requests_total", ()] == 1


def test_each_label_set_is_looked_up_once_per_process(settings, api_key, label_lookups):
    def http_lookups() -> int:
        return sum(name.startswith("django_http_") for name in label_lookups)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert client.get("/api/v1/ping/").status_code == 200
    first = http_lookups()
    assert first > 0
    for _ in range(5):
        assert client.get("/api/v1/ping/").status_code == 200
    assert http_lookups() == first
