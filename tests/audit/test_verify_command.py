"""`manage.py verify_audit`: OK with the head and exit 0, or where and why it broke and exit 1."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent, LedgerVerification, VerificationTrigger
from audit.services.ledger import Actor, append_event
from audit.services.verification import create_daily_checkpoint

pytestmark = pytest.mark.django_db


def verify_audit(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def events(count: int):
    return [append_event(actor=Actor.system(), action="test.event") for _ in range(count)]


def test_an_intact_ledger_prints_ok_with_the_count_and_head_and_is_recorded():
    *_, last = events(3)

    output = verify_audit()

    assert output.splitlines()[0] == f"OK: 3 events, head {last.hash}"
    assert "Checked #1–#3, starting from the first event." in output
    record = LedgerVerification.objects.get()
    assert (record.ok, record.triggered_by, record.user) == (
        True,
        VerificationTrigger.COMMAND,
        None,
    )


NO_ANCHORS = (
    "No anchors: no signed checkpoint and no issued report vouches for this ledger, so only its "
    "chain was checked (a deleted tail or an emptied ledger passes that). Check it against an "
    "anchor kept outside the product: verify_audit --anchor FILE."
)


def test_an_empty_ledger_is_ok_with_nothing_checked_and_says_no_anchor_vouches_for_it():
    assert verify_audit().splitlines() == [f"OK: 0 events, head {'0' * 64}", NO_ANCHORS]


def test_a_ledger_without_anchors_says_so_and_one_with_a_checkpoint_does_not():
    events(3)
    assert verify_audit().splitlines()[-1] == NO_ANCHORS

    create_daily_checkpoint()

    output = verify_audit()
    assert NO_ANCHORS not in output
    assert "Anchors intact: 1 signed checkpoints, 0 issued reports." in output


@pytest.mark.parametrize(
    ("tampering", "expected"),
    [
        ("edit", "BROKEN at #2: its content was changed after writing"),
        ("delete", "BROKEN at #2: event #2 is missing (the next one is #3): deleted"),
        ("delete-last", "BROKEN at #3: event #3 is missing (the ledger head is at #3)"),
        ("reorder", "BROKEN at #2: events were reordered"),
    ],
)
def test_a_tampered_ledger_fails_with_where_and_why(tamper, tampering, expected):
    events(3)
    with tamper():
        if tampering == "edit":
            AuditEvent.objects.filter(sequence=2).update(payload={"forged": True})
        elif tampering == "delete":
            AuditEvent.objects.filter(sequence=2).delete()
        elif tampering == "delete-last":
            AuditEvent.objects.filter(sequence=3).delete()
        else:
            AuditEvent.objects.filter(sequence=2).update(sequence=99)
            AuditEvent.objects.filter(sequence=3).update(sequence=2)
            AuditEvent.objects.filter(sequence=99).update(sequence=3)

    with pytest.raises(CommandError) as failure:
        verify_audit()

    assert str(failure.value).startswith(expected)
    assert failure.value.returncode == 1
    assert not LedgerVerification.objects.get().ok


def test_since_checkpoint_checks_from_the_latest_checkpoint():
    events(4)
    create_daily_checkpoint()
    *_, last = events(2)

    output = verify_audit("--since-checkpoint")

    assert output.splitlines()[0] == f"OK: 3 events, head {last.hash}"
    assert "Checked #4–#6, starting from checkpoint #4 (Daily anchor)." in output
    assert LedgerVerification.objects.filter(since_checkpoint=True, triggered_by="command").exists()


def test_no_record_leaves_no_trace():
    events(1)
    verify_audit("--no-record")
    assert not LedgerVerification.objects.exists()
