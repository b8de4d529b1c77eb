"""The corrections export outside the API: the admin download and `export_corrections`."""

import datetime
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import CaseStatus
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/admin/oversight/corrections/export/"


def decided(journey, days_ago, rationale=""):
    moment = timezone.now() - datetime.timedelta(days=days_ago)
    case = CaseFactory(
        journey=journey,
        status=CaseStatus.DECIDED,
        opened_at=moment - datetime.timedelta(hours=1),
        decided_at=moment,
    )
    return DecisionFactory(case=case, decided_at=moment, rationale=rationale)


@pytest.fixture
def world():
    journey = JourneyFactory(ai_system=AISystemFactory(slug="support-assistant"))
    other = JourneyFactory(ai_system=AISystemFactory(slug="other-bot"))
    return {
        "old": decided(journey, 20),
        "new": decided(journey, 2, rationale="Called +44 20 7946 0958 to confirm."),
        "other": decided(other, 1),
    }


def exports():
    return AuditEvent.objects.filter(action="corrections.exported")


def test_the_command_writes_json_lines_and_records_the_export(world, tmp_path):
    out = tmp_path / "corrections.jsonl"
    since = (timezone.now() - datetime.timedelta(days=5)).date().isoformat()
    call_command(
        "export_corrections",
        "--since",
        since,
        "--ai-system",
        "support-assistant",
        "--out",
        str(out),
        stderr=io.StringIO(),
    )
    [line] = out.read_text().splitlines()
    record = json.loads(line)
    assert record["decision"] == str(world["new"].id)
    assert record["human"]["rationale"] == "Called [phone_number] to confirm."
    event = exports().get()
    assert event.actor_type == "system"
    assert event.payload["via"] == "command"
    assert event.payload["decisions"] == [str(world["new"].id)]


def test_the_command_to_stdout_takes_every_system(world):
    stdout = io.StringIO()
    call_command("export_corrections", stdout=stdout, stderr=io.StringIO())
    ids = [json.loads(line)["decision"] for line in stdout.getvalue().splitlines()]
    assert ids == [str(world[k].id) for k in ("old", "new", "other")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "is not a date or time"),
        (["--ai-system", "nobody"], "No AI system"),
        (["--out", "/nonexistent-dir/x.jsonl"], "Cannot write"),
    ],
)
def test_the_command_refuses_bad_input_and_records_nothing(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_corrections", *args, stdout=io.StringIO())
    assert not exports().exists()


def test_a_compliance_officer_downloads_from_the_admin(client, world):
    officer = StaffUserFactory(username="cora")
    officer.groups.add(Group.objects.get(name="Compliance officer"))
    client.force_login(officer)
    page = client.get(URL)
    assert page.status_code == 200
    assert b"Download (JSON lines)" in page.content
    since = (timezone.now() - datetime.timedelta(days=5)).date().isoformat()
    response = client.post(URL, {"since": since})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="corrections-all-')
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["decision"] for line in lines] == [
        str(world["new"].id),
        str(world["other"].id),
    ]
    event = exports().get()
    assert event.actor_user == officer
    assert event.payload["via"] == "admin"


def test_a_reviewer_may_not_export_and_nothing_is_recorded(client, world):
    reviewer = StaffUserFactory(username="rex")
    reviewer.groups.add(Group.objects.get(name="Reviewer"))
    client.force_login(reviewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}).status_code == 403
    assert not exports().exists()


def test_a_bad_date_is_shown_on_the_form_and_nothing_is_recorded(client, world):
    officer = StaffUserFactory(username="cora")
    officer.groups.add(Group.objects.get(name="Compliance officer"))
    client.force_login(officer)
    response = client.post(URL, {"since": "31/02/2026"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
    assert not exports().exists()
