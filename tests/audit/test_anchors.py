"""The chain must still pass through every signed checkpoint and every issued report's head.

Each tampering here leaves a chain that is consistent with itself (the walk alone says OK), as
an insider with database access would leave it: the tail deleted and the head moved back, the
tables emptied, or one event edited and every later one re-hashed through the head. The signed
checkpoints and the heads pinned in issued PDFs do not move with it, so verification fails and
names the anchor that broke.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint, LedgerHead
from audit.services.checkpoints import write_checkpoint
from audit.services.ledger import (
    PURGE_ACTION,
    Actor,
    _verify_chain,
    append_event,
    hash_of,
    verify_ledger,
)
from audit.services.verification import create_daily_checkpoint
from tests.factories import IssuedReportFactory

pytestmark = pytest.mark.django_db

OTHER_KEY = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="  # bytes 32..63, base64


def events(count: int):
    return [
        append_event(actor=Actor.system(), action="test.event", payload={"n": n})
        for n in range(count)
    ]


def verify_audit(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken(*args) -> str:
    with pytest.raises(CommandError) as failure:
        verify_audit(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


def delete_tail(tamper, *, keep: int) -> None:
    """DELETE the events after #keep and move the head back to #keep, by direct SQL."""
    with tamper(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > %s", [keep])
        cursor.execute(
            "UPDATE audit_ledgerhead SET sequence = %s, "
            "hash = (SELECT hash FROM audit_auditevent WHERE sequence = %s)",
            [keep, keep],
        )


def empty_ledger(tamper) -> None:
    """What TRUNCATE audit_auditevent, audit_ledgerhead leaves (SQLite has no TRUNCATE)."""
    with tamper(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute("DELETE FROM audit_ledgerhead")


def rewrite_from(tamper, sequence: int) -> None:
    """Edit event #sequence and re-hash it and every later event, then move the head along."""
    with tamper():
        AuditEvent.objects.filter(sequence=sequence).update(payload={"forged": True})
        prev_hash = AuditEvent.objects.get(sequence=sequence).prev_hash
        for event in AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"):
            event.prev_hash = prev_hash
            prev_hash = hash_of(event)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=prev_hash)
        LedgerHead.objects.filter(singleton=1).update(hash=prev_hash)


TAMPERINGS = {
    "tail deleted": (
        lambda tamper: delete_tail(tamper, keep=5),
        "event #8 is missing (the ledger now ends at #5)",
    ),
    "truncated": (empty_ledger, "event #8 is missing (the ledger is now empty)"),
    "re-hashed from an edit": (
        lambda tamper: rewrite_from(tamper, 3),
        "event #8 no longer has the hash",
    ),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_self_consistent_tampering_fails_at_the_signed_checkpoint(tamper, tampering):
    events(8)
    checkpoint = create_daily_checkpoint()
    events(2)
    do, expected = TAMPERINGS[tampering]
    do(tamper)
    assert _verify_chain().ok  # the chain alone no longer tells

    message = broken()

    assert message.startswith("BROKEN at #8: the daily anchor checkpoint at #8 signed ")
    assert expected in message
    assert checkpoint.head_hash in message or tampering != "re-hashed from an edit"


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_self_consistent_tampering_fails_at_an_issued_reports_pinned_head(tamper, tampering):
    *_, pinned = events(8)
    report = IssuedReportFactory(
        ledger_sequence=8, ledger_hash=pinned.hash, title="Authority register"
    )
    events(2)
    do, expected = TAMPERINGS[tampering]
    do(tamper)

    message = broken()

    assert message.startswith(
        f"BROKEN at #8: issued report {report.pk} (Authority register) pinned at #8: "
    )
    assert expected in message


def test_the_first_broken_anchor_is_named_when_several_break(tamper):
    events(4)
    create_daily_checkpoint()
    *_, pinned = events(3)
    IssuedReportFactory(ledger_sequence=7, ledger_hash=pinned.hash)
    events(1)
    create_daily_checkpoint()
    rewrite_from(tamper, 6)

    check = verify_ledger()

    assert (check.ok, check.broken_at) == (False, 7)
    assert "issued report" in check.reason


def test_an_intact_ledger_reports_its_anchors(tamper):
    *_, pinned = events(3)
    IssuedReportFactory(ledger_sequence=3, ledger_hash=pinned.hash)
    create_daily_checkpoint()

    output = verify_audit()

    assert "Anchors intact: 1 signed checkpoints, 1 issued reports." in output


def test_an_altered_checkpoint_fails_its_signature(tamper):
    *_, last = events(3)
    create_daily_checkpoint()
    fake = events(1)[0]
    # Move the checkpoint onto another event of the chain: still on the chain, but not signed so.
    with tamper():
        LedgerCheckpoint.objects.update(sequence=4, head_hash=fake.hash)

    message = broken()

    assert message.startswith("BROKEN at #4: the daily anchor checkpoint at #4 of ")
    assert "has an invalid signature: it was altered or forged" in message


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(settings):
    *_, last = events(3)
    settings.LEDGER_SIGNING_KEY = OTHER_KEY
    write_checkpoint(kind=CheckpointKind.ON_DEMAND, sequence=3, head_hash=last.hash)
    settings.LEDGER_SIGNING_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    message = broken()

    assert "which is not a trusted key" in message
    assert message.startswith("BROKEN at #3: the on demand checkpoint at #3 of ")


def test_after_a_rotation_the_retired_keys_checkpoints_still_verify(settings):
    *_, last = events(3)
    old = write_checkpoint(kind=CheckpointKind.DAILY, sequence=3, head_hash=last.hash)
    entry = StringIO()
    call_command("ledger_signing_key", stdout=entry)
    settings.LEDGER_SIGNING_KEY = OTHER_KEY  # the new key
    settings.LEDGER_PUBLIC_KEYS = [entry.getvalue().strip()]
    events(1)
    new = create_daily_checkpoint()

    assert new.key_id != old.key_id
    assert verify_ledger().ok
    settings.LEDGER_PUBLIC_KEYS = []
    assert f"signed with key '{old.key_id}'" in verify_ledger().reason


def test_an_unsigned_purge_checkpoint_cannot_start_the_chain(tamper):
    # A forged purge: events #1-#3 "purged" under an unsigned checkpoint, confirmed by an event.
    *_, last = events(3)
    LedgerCheckpoint.objects.create(sequence=3, head_hash=last.hash, kind=CheckpointKind.PURGE)
    append_event(
        actor=Actor.system(),
        action=PURGE_ACTION,
        payload={"ledger": {"through_sequence": 3, "through_hash": last.hash}},
    )
    with tamper():
        AuditEvent.objects.filter(sequence__lte=3).delete()
    assert _verify_chain().ok

    check = verify_ledger()

    assert not check.ok
    assert "is not signed: a purge checkpoint starts the chain" in check.reason


def test_unsigned_checkpoints_from_before_signing_vouch_for_nothing_but_are_checked():
    *_, last = events(3)
    LedgerCheckpoint.objects.create(sequence=3, head_hash=last.hash, kind=CheckpointKind.DAILY)

    output = verify_audit()

    assert "Anchors intact: 0 signed checkpoints" in output
    assert "1 checkpoints from before signing carry no signature" in output
    # --since-checkpoint does not start from it.
    assert "starting from the first event" in verify_audit("--since-checkpoint")


def test_a_report_pinned_at_genesis_must_carry_the_genesis_hash():
    events(1)
    report = IssuedReportFactory(ledger_sequence=0, ledger_hash="f" * 64)

    check = verify_ledger()

    assert (check.ok, check.broken_at) == (False, 0)
    assert check.reason == (
        f"issued report {report.pk} (Authority register) pinned at #0: its hash is not that of "
        "the start of the ledger"
    )
