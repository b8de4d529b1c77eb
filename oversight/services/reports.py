"""PDF evidence reports: requesting, generating, storing and recognising them.

A person (admin), the command line or the monthly schedule requests a report; a django-q2 task
renders it (`oversight.reports.rendering.render_report`) and stores the exact PDF bytes as an
IssuedReport with their SHA-256, so a copy handed to an auditor can later be checked byte for
byte (`find_issued`, `manage.py verify_report`). Each step is in the audit ledger:
"report.requested", then "report.generated" or "report.failed"; each download from the admin
is "report.downloaded".

Who may request: a person with `oversight.add_reportrequest` (compliance officers). Three callers
have no person behind them and are not checked: the command line without `--user` (the operator
at the server's shell, who could run any code anyway; recorded via "command"), the monthly
schedule (the product itself; recorded via "schedule") and a go-live sign-off, which orders its
own evaluation (recorded via "sign_off"; the manager who signed is in the sign-off's own event).
"""

import datetime
import hashlib
import logging

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import (
    AISystem,
    IssuedReport,
    ReportKind,
    ReportRequest,
    ReportStatus,
    RequestedVia,
)
from oversight.services.report_params import validate_params

logger = logging.getLogger(__name__)

GENERATE_TASK = "oversight.tasks.generate_report"
INTERNAL_ERROR = (
    "The report could not be generated because of an internal error. It has been logged; "
    "request the report again or ask an administrator (request {request_id})."
)
# Who acts in the ledger when no person does.
ACTORS_WITHOUT_PERSON = {
    RequestedVia.COMMAND: "command line",
    RequestedVia.SCHEDULE: "report schedule",
    RequestedVia.SIGN_OFF: "go-live sign-off",
}
GENERATOR_ACTOR = "report generator"


# Requesting ---------------------------------------------------------------------------------


def _actor(user, via: str) -> Actor:
    if user is not None:
        return Actor.for_user(user)
    return Actor.system(ACTORS_WITHOUT_PERSON[via])


def _check_requester(user, via: str) -> None:
    if via not in RequestedVia.values:
        raise InvalidInput(f"Unknown way of requesting a report: “{via}”.")
    if user is None:
        if via in ACTORS_WITHOUT_PERSON:
            return  # the operator at the shell, or the schedule (see the module docstring)
        raise NotAllowed("Sign in to request a report.")
    if not user.has_perm("oversight.add_reportrequest"):
        raise NotAllowed("You may not request reports; compliance officers may.")


def _create_request(*, user, kind: str, params: dict, via: str, enqueue: bool) -> ReportRequest:
    _check_requester(user, via)
    params = validate_params(kind, params)
    with transaction.atomic():
        request = ReportRequest.objects.create(
            kind=kind, params=params, requested_by=user, requested_via=via
        )
        append_event(
            actor=_actor(user, via),
            action="report.requested",
            obj=request,
            payload={
                "report": str(request.report_id),
                "kind": kind,
                "params": params,
                "via": via,
            },
        )
        if enqueue:
            request_id = str(request.pk)
            transaction.on_commit(lambda: async_task(GENERATE_TASK, request_id))
    return request


def request_report(*, user, kind: str, params: dict, via: str = "admin") -> ReportRequest:
    """Queue a report: a task renders and stores it after this transaction commits.

    Rules: `user` needs `oversight.add_reportrequest` (no user only via "command" or
    "schedule"); the parameters pass `report_params.validate_params`. A refusal creates nothing.
    """
    return _create_request(user=user, kind=kind, params=params, via=via, enqueue=True)


def issue_report_now(*, user, kind: str, params: dict, via: str = "command") -> IssuedReport:
    """Request and generate a report inline (the command line); raises if it fails.

    Same rules as `request_report`; nothing is queued. A failed generation stays recorded as a
    failed request, and its message is raised as InvalidInput.
    """
    request = _create_request(user=user, kind=kind, params=params, via=via, enqueue=False)
    issued = generate_report(request.pk)
    if issued is None:
        request.refresh_from_db()
        raise InvalidInput(request.error or "The report could not be generated.")
    return issued


# Generating ---------------------------------------------------------------------------------


class _ProgressWriter:
    """Saves the renderer's progress so the admin sees it while the report is being made.

    Each call is its own short transaction. The renderer collects its figures inside one
    transaction (one snapshot), and a write on our connection would stay invisible until that
    commits; so while it is open, on PostgreSQL, progress goes through a second connection that
    commits at once. Progress is best effort: a lock wait or database error skips one update
    (and is logged), it never fails the report. Callers already inside a transaction of their
    own (tests, a shell) get plain writes, visible to them.
    """

    def __init__(self, request_id):
        self.request_id = request_id
        self.caller_in_transaction = connection.in_atomic_block
        self.aside = None

    def __call__(self, percent: int, message: str) -> None:
        values = (max(0, min(100, int(percent))), (message or "")[:200])
        if (
            connection.vendor == "postgresql"
            and connection.in_atomic_block
            and not self.caller_in_transaction
        ):
            self._write_aside(*values)
            return
        with transaction.atomic():
            ReportRequest.objects.filter(pk=self.request_id, status=ReportStatus.RUNNING).update(
                progress=values[0], progress_message=values[1]
            )

    def _write_aside(self, percent: int, message: str) -> None:
        try:
            if self.aside is None:
                self.aside = connections.create_connection(DEFAULT_DB_ALIAS)
                with self.aside.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
            table = self.aside.ops.quote_name(ReportRequest._meta.db_table)
            with self.aside.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET progress = %s, progress_message = %s "
                    "WHERE id = %s AND status = %s",
                    [percent, message, self.request_id, ReportStatus.RUNNING.value],
                )
        except DatabaseError:
            logger.warning("Progress of report request %s not saved.", self.request_id)

    def close(self) -> None:
        if self.aside is not None:
            self.aside.close()
            self.aside = None


def report_lease() -> datetime.timedelta:
    """How long a worker holds a running request: the task timeout plus a margin.

    django-q2 kills a task at Q_CLUSTER["timeout"], so once the lease has lapsed no live worker
    can still be rendering under it: the sweep may hand the request to another.
    """
    return datetime.timedelta(
        seconds=settings.Q_CLUSTER["timeout"] + settings.TASK_LEASE_MARGIN_SECONDS
    )


def _claimable(now: datetime.datetime) -> Q:
    """Queued, or running under a lease that lapsed (its worker stopped) with attempts left."""
    lapsed = Q(status=ReportStatus.RUNNING) & (
        Q(lease_expires_at__lt=now)
        # Rows taken before leases were recorded: judged by when they started.
        | Q(lease_expires_at__isnull=True, started_at__lt=now - report_lease())
    )
    return (Q(status=ReportStatus.QUEUED) | lapsed) & Q(attempts__lt=settings.REPORT_MAX_ATTEMPTS)


def fail_request(request: ReportRequest, message: str, *, attempt: int | None = None) -> bool:
    """Mark the request failed with `message` and record it, unless another worker owns it now.

    `attempt` fences the write: only the worker holding that attempt's lease may fail it.
    Returns whether the request was failed.
    """
    with transaction.atomic():
        rows = ReportRequest.objects.filter(pk=request.pk)
        if attempt is not None:
            rows = rows.filter(status=ReportStatus.RUNNING, attempts=attempt)
        failed = rows.update(
            status=ReportStatus.FAILED,
            error=message,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if not failed:
            logger.warning("Report request %s changed hands; not failed here.", request.pk)
            return False
        append_event(
            actor=Actor.system(GENERATOR_ACTOR),
            action="report.failed",
            obj=request,
            payload={
                "report": str(request.report_id),
                "kind": request.kind,
                "params": request.params,
                "error": message,
            },
        )
    return True


class _LeaseLost(Exception):
    """Our lease on a request lapsed and another worker took it: drop this rendering."""


def generate_report(request_id) -> IssuedReport | None:
    """Render a queued request, store the PDF as an IssuedReport and mark the request done.

    Rules: only a queued request, or a running one whose lease lapsed (its worker stopped),
    is generated; it is claimed with one conditional UPDATE that records a lease and counts the
    attempt, so a task handed out twice renders once. A done request returns its report, a
    running (under a live lease) or failed one None. Progress is saved as the renderer reports
    it. The report, the request's "done" and the "report.generated" event are one transaction,
    committed only if this attempt still holds the request (a worker whose lease lapsed and was
    taken over stores nothing). A parameter problem found by the renderer fails the request
    with its message; any other error fails it with a generic message (the details go to the
    log, never to the person).
    """
    from oversight.reports import rendering, signing

    request = ReportRequest.objects.filter(pk=request_id).first()
    if request is None:
        logger.warning("Report request %s does not exist; nothing generated.", request_id)
        return None
    now = timezone.now()
    claimed = ReportRequest.objects.filter(_claimable(now), pk=request.pk).update(
        status=ReportStatus.RUNNING,
        started_at=now,
        progress=0,
        progress_message="Starting",
        attempts=F("attempts") + 1,
        lease_expires_at=now + report_lease(),
    )
    if not claimed:
        logger.info("Report request %s is %s; not generated again.", request.pk, request.status)
        if request.status == ReportStatus.DONE:
            return IssuedReport.objects.filter(request=request).defer("content").first()
        return None
    request.refresh_from_db()
    attempt = request.attempts
    progress = _ProgressWriter(request.pk)
    try:
        try:
            rendered = rendering.render_report(
                request.kind,
                request.params,
                report_id=str(request.report_id),
                generated_at=now,
                progress=progress,
            )
        finally:
            progress.close()
        # The stored bytes, and so their SHA-256, are the signed ones: exactly what is handed out.
        pdf = signing.sign_pdf(
            rendered.pdf, reason=f"Report {request.report_id} issued by HITL Oversight"
        )
        with transaction.atomic():
            # Locked, so a worker taking the request over waits for this commit (and then finds
            # it done) or has already taken it (and this attempt stores nothing).
            held = ReportRequest.objects.select_for_update().filter(
                pk=request.pk, status=ReportStatus.RUNNING, attempts=attempt
            )
            if not list(held.values_list("pk", flat=True)):
                raise _LeaseLost
            issued = IssuedReport.objects.create(
                id=request.report_id,
                request=request,
                kind=request.kind,
                params=request.params,
                title=rendered.title,
                subtitle=rendered.subtitle,
                requested_by=request.requested_by,
                generated_at=now,
                content=pdf,
                size=len(pdf),
                sha256=sha256_of(pdf),
                page_count=rendered.page_count,
                data_sha256=rendered.data_sha256,
                ledger_sequence=rendered.ledger_sequence,
                ledger_hash=rendered.ledger_hash,
            )
            request.status = ReportStatus.DONE
            request.progress = 100
            request.progress_message = "Done"
            request.finished_at = timezone.now()
            request.lease_expires_at = None
            request.save(
                update_fields=[
                    "status",
                    "progress",
                    "progress_message",
                    "finished_at",
                    "lease_expires_at",
                ]
            )
            append_event(
                actor=Actor.system(GENERATOR_ACTOR),
                action="report.generated",
                obj=issued,
                payload={
                    "report": str(issued.pk),
                    "request": str(request.pk),
                    "kind": issued.kind,
                    "params": issued.params,
                    "sha256": issued.sha256,
                    "ledger_sequence": issued.ledger_sequence,
                    "ledger_hash": issued.ledger_hash,
                    "data_sha256": issued.data_sha256,
                    "page_count": issued.page_count,
                },
            )
    except _LeaseLost:
        logger.warning(
            "Report request %s: attempt %d lost its lease to another worker; result dropped.",
            request.pk,
            attempt,
        )
        return None
    except rendering.ReportParameterError as error:
        fail_request(request, str(error), attempt=attempt)
        return None
    except signing.SigningNotConfigured as error:
        logger.error("Report request %s not signed: %s", request.pk, error)
        fail_request(request, f"The report could not be signed: {error}", attempt=attempt)
        return None
    except Exception:
        logger.exception("Generating report request %s failed.", request.pk)
        fail_request(request, INTERNAL_ERROR.format(request_id=request.pk), attempt=attempt)
        return None
    return issued


# Recognising --------------------------------------------------------------------------------


def sha256_of(content: bytes) -> str:
    """Hex SHA-256, as stored in `IssuedReport.sha256`."""
    return hashlib.sha256(content).hexdigest()


def find_issued(pdf_bytes: bytes) -> IssuedReport | None:
    """The issued report whose stored bytes have the SHA-256 of `pdf_bytes`, if any.

    Callers comparing a copy should also compare `bytes(report.content)` with it.
    """
    return IssuedReport.objects.filter(sha256=sha256_of(pdf_bytes)).first()


# The monthly schedule -----------------------------------------------------------------------


def previous_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day of the calendar month before the one `today` is in."""
    end = today.replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def request_monthly_reports(today: datetime.date | None = None) -> list[ReportRequest]:
    """Request last month's oversight report of every active AI system (the schedule).

    Rules: acts as the schedule (no person, no permission check). A system that already has a
    request for that period which did not fail is skipped, so a repeated or retried run asks
    once; a failed one is asked again.
    """
    start, end = previous_month(today or timezone.localdate())
    params = {"start": start.isoformat(), "end": end.isoformat()}
    requested = []
    for system in AISystem.objects.filter(is_active=True).order_by("slug"):
        exists = (
            ReportRequest.objects.filter(
                kind=ReportKind.OVERSIGHT,
                params__system=system.slug,
                params__start=params["start"],
                params__end=params["end"],
            )
            .exclude(status=ReportStatus.FAILED)
            .exists()
        )
        if exists:
            continue
        requested.append(
            request_report(
                user=None,
                kind=ReportKind.OVERSIGHT,
                params={"system": system.slug, **params},
                via=RequestedVia.SCHEDULE,
            )
        )
    return requested


def record_download(*, user, report: IssuedReport) -> None:
    """Write to the ledger that `user` took a copy of an issued report (who, which, its hash).

    Rules: `oversight.view_issuedreport` is required. Evidence handed out is itself evidence:
    an auditor can ask who had which copy.
    """
    if user is None or not user.has_perm("oversight.view_issuedreport"):
        raise NotAllowed("You may not download reports; compliance officers may.")
    append_event(
        actor=Actor.for_user(user),
        action="report.downloaded",
        obj=report,
        payload={"report": str(report.pk), "kind": report.kind, "sha256": report.sha256},
    )
