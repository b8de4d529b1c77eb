"""The product's own Prometheus metrics, read from the database when /metrics is scraped.

Every figure is computed by one query at scrape time (PRODUCT_QUERIES of them in all, pinned by
a test), so every web process reports the same numbers, nothing is lost on a restart, and no
counter lives in a worker's memory. What each query reads, and why it stays cheap:

- gate calls: the daily roll-ups (GateDay) for closed days, plus the gate evaluations since the
  roll-ups' end (today's, read through the created_at index), never the whole table;
- cases, webhook deliveries, report requests: one grouped count each; these tables grow with
  the cases (a fraction of the gate calls) and the open cases use the (status, deadline) index;
- the ledger's last verification, the cluster heartbeat: the newest row, by index;
- ledger events recorded but still not chained a minute later: the partial index on pending
  events (normally empty: a case opening's event is chained within moments of its commit);
- training expiring within 30 days: one grouped query over the completions.

Labels are slugs (ai_system, journey) and choice values (route, state): names a dashboard can
show, never personal data.
"""

import datetime
from collections import defaultdict

from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

OPEN_CASE_STATES = ("open", "claimed", "awaiting_second_review", "escalated")
TRAINING_HORIZON_DAYS = 30
PRODUCT_QUERIES = 11  # the collector's queries per scrape, whatever the data


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def gate_calls() -> CounterMetricFamily:
    """Gate calls by AI system, journey and route: roll-ups for closed days plus the rest."""
    from oversight.models import GateDay, GateEvaluation
    from oversight.services.rollups import summarised_until

    family = CounterMetricFamily(
        "hitl_gate_calls",
        "Gate calls (may I proceed?) by AI system, journey and the gate's answer.",
        labels=["ai_system", "journey", "route"],
    )
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    until = summarised_until()
    if until is not None:
        days = (
            GateDay.objects.filter(day__lt=until)
            .values(system=F("ai_system__slug"), journey_slug=F("journey__slug"))
            .annotate(
                calls=Sum("gate_calls"), human=Sum("routed_to_humans"), blocked=Sum("blocked")
            )
            .order_by()
        )
        for row in days:
            key = (row["system"], row["journey_slug"])
            totals[(*key, "human")] += row["human"]
            totals[(*key, "blocked")] += row["blocked"]
            totals[(*key, "automate")] += row["calls"] - row["human"] - row["blocked"]
    recent = GateEvaluation.objects.all()
    if until is not None:
        recent = recent.filter(created_at__gte=_utc_midnight(until))
    rows = (
        recent.values("route", system=F("ai_system__slug"), journey_slug=F("journey__slug"))
        .annotate(calls=Count("id"))
        .order_by()
    )
    for row in rows:
        totals[(row["system"], row["journey_slug"], row["route"])] += row["calls"]
    for labels, value in sorted(totals.items()):
        family.add_metric(list(labels), value)
    return family


def cases(now: datetime.datetime) -> list:
    """Open cases and the age of the oldest by journey; SLA breaches ever, by journey."""
    from oversight.models import Case

    open_cases = GaugeMetricFamily(
        "hitl_open_cases",
        "Cases waiting for a person (open, claimed, awaiting a second review, escalated).",
        labels=["ai_system", "journey"],
    )
    oldest = GaugeMetricFamily(
        "hitl_oldest_open_case_age_seconds",
        "Age of the oldest case still waiting for a person, by journey.",
        labels=["ai_system", "journey"],
    )
    rows = (
        Case.objects.filter(status__in=OPEN_CASE_STATES)
        .values(system=F("journey__ai_system__slug"), journey_slug=F("journey__slug"))
        .annotate(count=Count("id"), first=Min("opened_at"))
        .order_by("system", "journey_slug")
    )
    for row in rows:
        labels = [row["system"], row["journey_slug"]]
        open_cases.add_metric(labels, row["count"])
        oldest.add_metric(labels, max(0.0, (now - row["first"]).total_seconds()))
    breaches = CounterMetricFamily(
        "hitl_sla_breaches",
        "Cases whose SLA deadline passed before a decision, by journey (ever).",
        labels=["ai_system", "journey"],
    )
    rows = (
        Case.objects.filter(sla_breached_at__isnull=False)
        .values(system=F("journey__ai_system__slug"), journey_slug=F("journey__slug"))
        .annotate(count=Count("id"))
        .order_by("system", "journey_slug")
    )
    for row in rows:
        breaches.add_metric([row["system"], row["journey_slug"]], row["count"])
    return [open_cases, oldest, breaches]


def webhooks() -> list:
    """Deliveries still owed (backlog) and those given up after every retry, by AI system."""
    from oversight.models import WebhookDelivery
    from oversight.models.integration import DeliveryStatus

    backlog = GaugeMetricFamily(
        "hitl_webhook_backlog",
        "Decision webhooks not delivered yet (pending, retries included), by AI system.",
        labels=["ai_system"],
    )
    failed = CounterMetricFamily(
        "hitl_webhook_failures",
        "Decision webhooks given up after their last retry, by AI system.",
        labels=["ai_system"],
    )
    rows = (
        WebhookDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
        .values("status", system=F("ai_system__slug"))
        .annotate(count=Count("id"))
        .order_by("system", "status")
    )
    for row in rows:
        family = backlog if row["status"] == DeliveryStatus.PENDING else failed
        family.add_metric([row["system"]], row["count"])
    return [backlog, failed]


def report_requests() -> GaugeMetricFamily:
    from oversight.models import ReportRequest
    from oversight.models.reports import ReportStatus

    family = GaugeMetricFamily(
        "hitl_report_requests",
        "PDF report requests by state (queued, running, done, failed).",
        labels=["state"],
    )
    counts = dict(
        ReportRequest.objects.values_list("status").annotate(count=Count("id")).order_by()
    )
    for state in ReportStatus.values:
        family.add_metric([state], counts.get(state, 0))
    return family


def ledger_verification(now: datetime.datetime) -> list:
    from audit.models import LedgerVerification
    from audit.services.chain_walk import stale_pending_events

    since = GaugeMetricFamily(
        "hitl_ledger_last_verification_age_seconds",
        "Seconds since the audit ledger last verified intact (-1: never).",
    )
    last_ok = (
        LedgerVerification.objects.filter(ok=True)
        .order_by("-verified_at")
        .values_list("verified_at", flat=True)
        .first()
    )
    since.add_metric([], (now - last_ok).total_seconds() if last_ok else -1)
    pending = GaugeMetricFamily(
        "hitl_ledger_pending_events_stale",
        "Ledger events recorded over a minute ago and still not chained (0 when healthy; the "
        "sealing schedule chains them).",
    )
    pending.add_metric([], stale_pending_events().count)
    return [since, pending]


def training_expiring(now: datetime.datetime) -> GaugeMetricFamily:
    """People whose latest passed completion of a module expires within the next 30 days."""
    from literacy.models import TrainingCompletion

    family = GaugeMetricFamily(
        "hitl_training_expiring_30d",
        "People whose training in a module expires within 30 days and is not renewed yet.",
        labels=["module"],
    )
    today = timezone.localdate(now)
    horizon = today + datetime.timedelta(days=TRAINING_HORIZON_DAYS)
    rows = (
        TrainingCompletion.objects.filter(passed=True)
        .values("user", module=F("module_version__module__slug"))
        .annotate(latest=Max("expires_on"))
        .filter(latest__gte=today, latest__lte=horizon)
        .order_by()
    )
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["module"]] += 1
    for module, count in sorted(counts.items()):
        family.add_metric([module], count)
    return family


def task_cluster(now: datetime.datetime) -> GaugeMetricFamily:
    from django_q.conf import Conf

    from operations.models import ClusterHeartbeat

    family = GaugeMetricFamily(
        "hitl_task_cluster_heartbeat_age_seconds",
        "Seconds since a task cluster worker last ran the heartbeat schedule (-1: never).",
    )
    beat = (
        ClusterHeartbeat.objects.filter(cluster=Conf.CLUSTER_NAME)
        .values_list("beat_at", flat=True)
        .first()
    )
    family.add_metric([], (now - beat).total_seconds() if beat else -1)
    return family


class ProductCollector(Collector):
    """Collects every product metric from the database, once per scrape."""

    def collect(self):
        now = timezone.now()
        yield gate_calls()
        yield from cases(now)
        yield from webhooks()
        yield report_requests()
        yield from ledger_verification(now)
        yield training_expiring(now)
        yield task_cluster(now)

    def describe(self):
        # Registering a collector calls describe(); without this it would collect (query).
        return []
