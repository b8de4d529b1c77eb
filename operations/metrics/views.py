"""/metrics: Prometheus's text format, for a scraper holding the token or on an allowed network.

The answer joins django-prometheus's request and database metrics of this process (of every
gunicorn worker, when PROMETHEUS_MULTIPROC_DIR is set, as `make serve` does) with the product's
own figures (operations.metrics.product), read from the database at scrape time.

Access (settings METRICS_TOKEN, METRICS_ALLOWED_NETWORKS): `Authorization: Bearer <token>`
compared in constant time, or a client address (REMOTE_ADDR: the proxy's, behind one) inside
an allowed network. Neither configured: refused to everyone, so a deployment that forgot them
does not publish its figures.
"""

import ipaddress
import os
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from operations.metrics.product import ProductCollector

REFUSED = (
    "Metrics are available to a scraper with the metrics token (Authorization: Bearer …) or "
    "from an allowed network; see docs/operations.md."
)


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _in_allowed_network(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue  # a malformed entry allows nothing (manage.py check names it)
    return False


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token and secrets.compare_digest(_bearer(request).encode(), token.encode()):
        return True
    return _in_allowed_network(request.META.get("REMOTE_ADDR", ""))


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponse(REFUSED, status=403, content_type="text/plain; charset=utf-8")
    product = CollectorRegistry(auto_describe=False)
    product.register(ProductCollector())
    body = _process_metrics() + generate_latest(product)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
