"""Importing completions from CSV / XLSX: all rows or none, each problem named by row."""

import datetime
import hashlib
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from literacy.models import TrainingCompletion
from literacy.services.imports import import_completions_file
from literacy.services.status import training_status
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import JourneyUserObjectPermission
from oversight.roles import TRAINER
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HEADER = "username,module,version,completed_on,score\n"


@pytest.fixture(autouse=True)
def today_is_1_june_2026():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def trainer():
    user = UserFactory(username="trainer", is_staff=True)
    user.groups.add(Group.objects.get(name=TRAINER))
    return user


@pytest.fixture
def version():
    module = TrainingModuleFactory(slug="oversight-basics", title="Oversight basics")
    return TrainingModuleVersionFactory(module=module, version=1, validity_months=12, pass_mark=80)


@pytest.fixture
def learners():
    return [UserFactory(username=name) for name in ["ada", "bob", "cyd"]]


def counts():
    return (
        TrainingCompletion.objects.count(),
        TrainingCompletion.history.count(),
        AuditEvent.objects.count(),
    )


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def run(content, trainer, *, file_format="csv", dry_run=False):
    return import_completions_file(
        content=content, file_format=file_format, imported_by=trainer, dry_run=dry_run
    )


def row_errors(result) -> dict:
    return {row.number: row.error.messages for row in result.invalid_rows}


def test_a_valid_file_imports_every_row_with_history_and_one_audit_event(
    trainer, version, learners
):
    content = (
        b"username,module,version,completed_on,score,passed\n"
        b"ada,oversight-basics,1,2026-01-31,85,\n"
        b"bob,oversight-basics,1,2026-05-31,79.5,\n"
        # A result stated instead of a score.
        b"cyd,oversight-basics,1,2025-02-28,,yes\n"
    )

    result = run(content, trainer)

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 3
    rows = {c.user.username: c for c in TrainingCompletion.objects.select_related("user")}
    assert (rows["ada"].passed, rows["ada"].expires_on) == (True, datetime.date(2027, 1, 31))
    assert (rows["bob"].passed, rows["bob"].score) == (False, Decimal("79.50"))
    assert (rows["cyd"].passed, rows["cyd"].score) == (True, None)
    assert rows["cyd"].expires_on == datetime.date(2026, 2, 28)
    assert all(c.recorded_by == trainer for c in rows.values())
    history = TrainingCompletion.history.all()
    assert history.count() == 3
    assert {h.history_user for h in history} == {trainer}
    assert {h.history_type for h in history} == {"+"}
    event = AuditEvent.objects.get(action="training.imported")
    assert event.actor_user == trainer
    assert event.payload["count"] == 3
    assert event.payload["file_sha256"] == hashlib.sha256(content).hexdigest()


def test_dry_run_previews_the_rows_and_imports_nothing(trainer, version, learners):
    before = counts()

    result = run(csv("ada,oversight-basics,1,2026-01-31,85"), trainer, dry_run=True)

    assert result.totals["new"] == 1
    assert not result.has_validation_errors()
    [row] = result.rows
    assert "ada" in row.diff[0] and "2027-01-31" in " ".join(row.diff)
    assert counts() == before


def test_every_invalid_row_is_named_with_its_problem_and_nothing_is_imported(
    trainer, version, learners
):
    TrainingCompletionFactory(
        user=learners[2], module_version=version, completed_on=datetime.date(2026, 3, 1)
    )
    before = counts()
    content = csv(
        "ada,oversight-basics,1,2026-01-31,85",  # fine
        "zed,oversight-basics,1,2026-01-31,85",
        "ada,oversight-basics,7,2026-01-31,85",
        "ada,no-such-module,1,2026-01-31,85",
        "bob,oversight-basics,1,2026-01-31,150",
        "bob,oversight-basics,1,2026-06-02,90",
        "ada,oversight-basics,1,2026-01-31,90",
        "cyd,oversight-basics,1,2026-03-01,90",
        "bob,oversight-basics,1,31/01/2026,ninety",
    )

    result = run(content, trainer)

    assert row_errors(result) == {
        2: ["Unknown user 'zed'."],
        3: ["Unknown module version: module 'oversight-basics' version '7'."],
        4: ["Unknown module version: module 'no-such-module' version '1'."],
        5: ["The score 150 is out of range: it must be between 0 and 100."],
        6: ["The completion date 2026-06-02 is in the future."],
        7: ["Duplicate of row 1 in this file: ada completed Oversight basics v1 on 2026-01-31."],
        8: ["Already on record: cyd completed Oversight basics v1 on 2026-03-01."],
        9: [
            "The completion date '31/01/2026' is not a date (write YYYY-MM-DD).",
            "The score 'ninety' is not a number.",
        ],
    }
    assert counts() == before


def test_a_file_without_the_needed_columns_is_refused_and_nothing_changes(trainer, version):
    before = counts()

    result = run(b"user,module\nada,oversight-basics\n", trainer)

    assert result.has_errors()
    [error] = result.base_errors
    assert str(error.error) == (
        "['The file lacks the column(s) username, version, completed_on. "
        "Expected: username, module, version, completed_on, score, passed.']"
    )
    assert counts() == before


def test_xlsx_imports_too(trainer, version, learners):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["username", "module", "version", "completed_on", "score"])
    sheet.append(["ada", "oversight-basics", 1, datetime.datetime(2026, 2, 28), 90])
    sheet.append(["bob", "oversight-basics", 1, datetime.date(2026, 3, 31), 80.5])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = run(buffer.getvalue(), trainer, file_format="xlsx")

    assert not result.has_validation_errors() and not result.has_errors()
    rows = {c.user.username: c for c in TrainingCompletion.objects.select_related("user")}
    assert rows["ada"].expires_on == datetime.date(2027, 2, 28)
    assert rows["bob"].score == Decimal("80.50")
    assert TrainingCompletion.history.count() == 2


def test_an_unreadable_file_is_refused_with_a_message(trainer):
    before = counts()
    with pytest.raises(InvalidInput, match="The file could not be read as XLSX"):
        run(b"not a workbook", trainer, file_format="xlsx")
    assert counts() == before


def test_importing_without_permission_is_refused_and_nothing_changes(version, learners):
    before = counts()
    with pytest.raises(NotAllowed, match="You may not import training completions."):
        run(csv("ada,oversight-basics,1,2026-01-31,85"), UserFactory())
    assert counts() == before


def test_imported_training_makes_a_lapsed_grant_effective_at_once(trainer, version, learners):
    level = AuthorityLevelFactory()
    TrainingRequirementFactory(module=version.module, authority_level=level)
    grant = AuthorityGrantFactory(user=learners[0], level=level)
    assert not JourneyUserObjectPermission.objects.filter(user=learners[0]).exists()

    run(csv("ada,oversight-basics,1,2026-05-01,95"), trainer)

    assert JourneyUserObjectPermission.objects.filter(
        user=learners[0], content_object_id=grant.journey_id
    ).exists()
    assert training_status(learners[0])[0].state == "current"
