"""The monthly schedule: last month's oversight report of every active AI system, asked once."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django_q.models import Schedule

from audit.models import AuditEvent
from oversight.models import ReportRequest, ReportStatus
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.reports import GENERATE_TASK, previous_month, request_monthly_reports
from oversight.tasks import request_monthly_reports as request_monthly_reports_task
from tests.factories import AISystemFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 7, 1, 3, 0, tzinfo=datetime.UTC)
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}


@pytest.fixture
def systems():
    return [
        AISystemFactory(slug="refund-bot"),
        AISystemFactory(slug="id-check"),
        AISystemFactory(slug="retired-bot", is_active=False),
    ]


def test_the_monthly_schedule_exists_after_migrate():
    schedule = Schedule.objects.get(name="Monthly oversight reports")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "oversight.tasks.request_monthly_reports",
        Schedule.MONTHLY,
        -1,
    )
    assert (schedule.next_run.day, schedule.next_run.hour) == (1, 3)


def test_compliance_officers_may_request_follow_and_download_reports():
    granted = set(
        Permission.objects.filter(group__name=COMPLIANCE_OFFICER).values_list("codename", flat=True)
    )
    assert {"add_reportrequest", "view_reportrequest", "view_issuedreport"} <= granted
    assert not Permission.objects.filter(
        group__in=Group.objects.exclude(name=COMPLIANCE_OFFICER),
        codename__in=["add_reportrequest", "view_issuedreport"],
    ).exists()


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (datetime.date(2026, 7, 1), datetime.date(2026, 6, 1), datetime.date(2026, 6, 30)),
        (datetime.date(2026, 3, 15), datetime.date(2026, 2, 1), datetime.date(2026, 2, 28)),
        (datetime.date(2027, 1, 31), datetime.date(2026, 12, 1), datetime.date(2026, 12, 31)),
    ],
)
def test_previous_month_is_the_whole_calendar_month_before(today, first, last):
    assert previous_month(today) == (first, last)


def test_each_active_system_gets_last_months_report_once(
    systems, task_queue, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        first = request_monthly_reports()
        second = request_monthly_reports()

    assert [request.params["system"] for request in first] == ["id-check", "refund-bot"]
    assert second == []
    assert ReportRequest.objects.count() == 2
    for request in first:
        assert request.kind == "oversight"
        assert request.params == {"system": request.params["system"], **JUNE}
        assert (request.requested_by, request.requested_via) == (None, "schedule")
    assert task_queue.size() == 2
    events = AuditEvent.objects.filter(action="report.requested")
    assert {(event.actor_type, event.actor_label) for event in events} == {
        ("system", "report schedule")
    }


def test_a_failed_monthly_report_is_asked_again_on_the_next_run(systems):
    with time_machine.travel(NOW, tick=False):
        [failed, _] = request_monthly_reports()
        ReportRequest.objects.filter(pk=failed.pk).update(status=ReportStatus.FAILED)
        [again] = request_monthly_reports()

    assert again.params == failed.params
    assert again.pk != failed.pk


def test_a_different_period_or_kind_does_not_count_as_already_requested(systems):
    with time_machine.travel(NOW, tick=False):
        ReportRequest.objects.create(
            kind="oversight",
            params={"system": "refund-bot", "start": "2026-05-01", "end": "2026-05-31"},
        )
        ReportRequest.objects.create(kind="authority", params={"as_of": "2026-06-30"})
        requested = request_monthly_reports(today=datetime.date(2026, 7, 1))

    assert [request.params["system"] for request in requested] == ["id-check", "refund-bot"]


def test_the_task_reports_what_it_requested(systems, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert request_monthly_reports_task() == (
            "2 monthly oversight reports requested: id-check, refund-bot"
        )
        assert request_monthly_reports_task() == "0 monthly oversight reports requested: -"


def test_generating_is_queued_under_the_task_name_the_worker_imports():
    from django.utils.module_loading import import_string

    assert callable(import_string(GENERATE_TASK))
