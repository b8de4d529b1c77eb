"""Importing completions in the admin: preview first, then the service's all-or-nothing import."""

import datetime
import hashlib
import io

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from literacy.models import TrainingCompletion
from oversight.roles import COMPLIANCE_OFFICER, TRAINER
from tests.factories import (
    StaffUserFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:literacy_trainingcompletion_import")
CONFIRM_URL = reverse("admin:literacy_trainingcompletion_process_import")
CONTENT = (
    b"username,module,version,completed_on,score\n"
    b"ada,oversight-basics,1,2026-01-31,85\n"
    b"bob,oversight-basics,1,2026-05-31,60\n"
)


@pytest.fixture(autouse=True)
def today_is_1_june_2026():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def trainer():
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=TRAINER))
    return user


@pytest.fixture
def trainer_client(client, trainer):
    client.force_login(trainer)
    return client


@pytest.fixture
def version():
    module = TrainingModuleFactory(slug="oversight-basics", title="Oversight basics")
    return TrainingModuleVersionFactory(module=module, version=1)


@pytest.fixture
def learners():
    return [UserFactory(username="ada"), UserFactory(username="bob")]


def counts():
    return (
        TrainingCompletion.objects.count(),
        TrainingCompletion.history.count(),
        AuditEvent.objects.count(),
    )


def upload(client, content, name="completions.csv", file_format="0"):
    return client.post(
        IMPORT_URL,
        {"resource": "0", "format": file_format, "import_file": SimpleUploadedFile(name, content)},
    )


def test_preview_shows_the_rows_and_imports_nothing(trainer_client, version, learners):
    before = counts()

    page = upload(trainer_client, CONTENT)

    assert page.status_code == 200
    result = page.context["result"]
    assert result.totals["new"] == 2
    assert page.context["confirm_form"] is not None
    html = page.content.decode()
    assert "ada" in html and "2027-01-31" in html
    assert counts() == before


def test_confirming_imports_every_row_with_history_and_the_file_hash(
    trainer_client, trainer, version, learners
):
    preview = upload(trainer_client, CONTENT)
    confirm = preview.context["confirm_form"]

    response = trainer_client.post(CONFIRM_URL, confirm.initial)

    assert response.status_code == 302
    rows = TrainingCompletion.objects.all()
    assert rows.count() == 2
    assert {(c.recorded_by, c.history.get().history_user) for c in rows} == {(trainer, trainer)}
    assert {c.user.username: c.passed for c in rows} == {"ada": True, "bob": False}
    event = AuditEvent.objects.get(action="training.imported")
    assert event.payload["count"] == 2
    assert event.payload["file_sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert event.payload["file_name"] == "completions.csv"


def test_invalid_rows_are_listed_by_number_and_no_confirmation_is_offered(
    trainer_client, version, learners
):
    before = counts()
    content = (
        CONTENT + b"zed,oversight-basics,1,2026-01-31,85\nada,oversight-basics,1,2026-07-01,90\n"
    )

    page = upload(trainer_client, content)

    assert page.status_code == 200
    assert "confirm_form" not in page.context
    assert {row.number: row.error.messages for row in page.context["result"].invalid_rows} == {
        3: ["Unknown user 'zed'."],
        4: ["The completion date 2026-07-01 is in the future."],
    }
    html = page.content.decode()
    assert "Unknown user &#x27;zed&#x27;." in html
    assert "The completion date 2026-07-01 is in the future." in html
    assert counts() == before


def test_a_row_recorded_between_preview_and_confirmation_stops_the_whole_import(
    trainer_client, version, learners
):
    preview = upload(trainer_client, CONTENT)
    TrainingCompletionFactory(
        user=learners[1], module_version=version, completed_on=datetime.date(2026, 5, 31)
    )
    before = counts()

    response = trainer_client.post(
        CONFIRM_URL, preview.context["confirm_form"].initial, follow=True
    )

    assert counts() == before
    message = str(list(response.context["messages"])[0])
    assert message.startswith("Nothing was imported: 1 row(s) are no longer valid (row 2: Already")


def test_xlsx_is_offered_and_imports(trainer_client, version, learners):
    workbook = openpyxl.Workbook()
    workbook.active.append(["username", "module", "version", "completed_on", "score"])
    workbook.active.append(["ada", "oversight-basics", 1, datetime.datetime(2026, 3, 1), 90])
    buffer = io.BytesIO()
    workbook.save(buffer)

    preview = upload(trainer_client, buffer.getvalue(), name="completions.xlsx", file_format="1")
    assert preview.context["result"].totals["new"] == 1
    response = trainer_client.post(CONFIRM_URL, preview.context["confirm_form"].initial)

    assert response.status_code == 302
    assert TrainingCompletion.objects.get().expires_on == datetime.date(2027, 3, 1)
    event = AuditEvent.objects.get(action="training.imported")
    assert event.payload["file_sha256"] == hashlib.sha256(buffer.getvalue()).hexdigest()


def test_without_the_add_permission_there_is_no_import(client, version, learners):
    officer = StaffUserFactory()
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    before = counts()

    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, CONTENT).status_code == 403
    assert counts() == before
