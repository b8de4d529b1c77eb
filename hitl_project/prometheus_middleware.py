"""django-prometheus's after-middleware, with its labelled series looked up once, not per request.

django-prometheus's PrometheusAfterMiddleware asks each labelled metric for its child on every
request (`metric.labels(view=…, method=…)`: eight look-ups, each converting and checking the
label values under the metric's lock), about a tenth of an API ping's CPU. The child for a given
set of label values is always the same object, so it is kept here by (metric, values) and used
again; what is counted and observed, and under which labels, is exactly django-prometheus's
(tests/test_prometheus_middleware.py scrapes /metrics with both and compares the deltas).

Label values are bounded (a status, a view name, a known method, a charset), but a request with
an unknown method reaches the latency histogram with that method as a label (upstream's
behaviour, kept): the cache stops growing at _MAX_CHILDREN and then asks the metric, as before.
Exceptions go through django-prometheus unchanged.
"""

from __future__ import annotations

from django_prometheus.middleware import PrometheusAfterMiddleware as _Upstream
from django_prometheus.utils import Time, TimeSince

_MAX_CHILDREN = 2000


class PrometheusAfterMiddleware(_Upstream):
    """django-prometheus's PrometheusAfterMiddleware (a subclass: what names it still finds it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._children: dict[tuple, object] = {}

    def _child(self, metric, *values):
        """metric.labels(*values), the same child for the same values (labelnames' order)."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = metric.labels(*values)
            if len(self._children) < _MAX_CHILDREN:
                self._children[key] = child
        return child

    def process_request(self, request):
        metrics = self.metrics
        self._child(metrics.requests_by_method, self._method(request)).inc()
        self._child(metrics.requests_by_transport, self._transport(request)).inc()
        # Mimic the behaviour of the deprecated "Request.is_ajax()" method (as upstream). The
        # two headers are read from META, as request.headers would (building request.headers
        # parses every header name, which nothing else on the API's paths needs).
        if request.META.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest":
            metrics.requests_ajax.inc()
        metrics.requests_body_bytes.observe(int(request.META.get("CONTENT_LENGTH") or 0))
        request.prometheus_after_middleware_event = Time()

    def process_view(self, request, view_func, *view_args, **view_kwargs):
        if hasattr(request, "resolver_match"):
            name = request.resolver_match.view_name or "<unnamed view>"
            self._child(
                self.metrics.requests_by_view_transport_method,
                name,
                self._transport(request),
                self._method(request),
            ).inc()

    def process_template_response(self, request, response):
        # Every DRF answer is a template response (template_name None): counted by that name.
        if hasattr(response, "template_name"):
            self._child(self.metrics.responses_by_templatename, str(response.template_name)).inc()
        return response

    def process_response(self, request, response):
        metrics = self.metrics
        method = self._method(request)
        name = self._get_view_name(request)
        status = str(response.status_code)
        self._child(metrics.responses_by_status, status).inc()
        self._child(metrics.responses_by_status_view_method, status, name, method).inc()
        if hasattr(response, "charset"):
            self._child(metrics.responses_by_charset, str(response.charset)).inc()
        if getattr(response, "streaming", False):
            metrics.responses_streaming.inc()
        if hasattr(response, "content"):
            metrics.responses_body_bytes.observe(len(response.content))
        if hasattr(request, "prometheus_after_middleware_event"):
            # Upstream labels the latency with request.method itself, not the checked method.
            self._child(metrics.requests_latency_by_view_method, name, request.method).observe(
                TimeSince(request.prometheus_after_middleware_event)
            )
        else:
            metrics.requests_unknown_latency.inc()
        return response
