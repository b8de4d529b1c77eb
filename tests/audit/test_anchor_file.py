"""`verify_audit --export-anchor FILE` / `--anchor FILE`: a signed head kept outside the product.

The anchor file is what still holds when the database holds nothing trustworthy: with the
events, the head and even the checkpoints gone, the database alone verifies "OK: 0 events",
and the anchor file says otherwise.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import Actor, append_event, hash_of
from audit.services.verification import create_daily_checkpoint

pytestmark = pytest.mark.django_db


def events(count: int):
    return [append_event(actor=Actor.system(), action="test.event") for _ in range(count)]


def verify_audit(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken(*args) -> str:
    with pytest.raises(CommandError) as failure:
        verify_audit(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


@pytest.fixture
def anchor_file(tmp_path):
    events(5)
    checkpoint = create_daily_checkpoint()
    events(2)
    path = tmp_path / "anchor.json"
    output = verify_audit("--export-anchor", str(path))
    assert f"Anchor written to {path}: checkpoint #5 ({checkpoint.head_hash})" in output
    return path


def wipe_everything(tamper, *, keep: int = 0) -> None:
    """Events after #keep, the head and every checkpoint gone, as a superuser could."""
    with tamper(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > %s", [keep])
        cursor.execute("DELETE FROM audit_ledgercheckpoint")
        cursor.execute("DELETE FROM audit_ledgerhead")
        if keep:
            last = AuditEvent.objects.get(sequence=keep)
            LedgerHead.objects.create(singleton=1, sequence=keep, hash=last.hash)


def test_the_exported_anchor_holds_the_signed_checkpoint_and_its_public_key(anchor_file):
    document = json.loads(anchor_file.read_text())

    assert document["format"] == "hitl-ledger-anchor/1"
    assert document["sequence"] == 5
    assert document["hash"] == AuditEvent.objects.get(sequence=5).hash
    assert document["kind"] == "daily"
    assert {"key_id", "public_key", "signature", "created_at", "exported_at"} <= set(document)


def test_an_intact_ledger_verifies_against_the_anchor(anchor_file):
    output = verify_audit("--anchor", str(anchor_file))
    assert output.startswith("OK: 7 events")
    assert "and the anchor file." in output


def test_a_truncated_ledger_without_checkpoints_passes_alone_but_fails_against_the_anchor(
    anchor_file, tamper
):
    wipe_everything(tamper)

    assert verify_audit("--no-record").startswith("OK: 0 events")
    message = broken("--anchor", str(anchor_file))

    assert message.startswith("BROKEN at #5: the exported anchor at #5 (signed ")
    assert "event #5 is missing (the ledger is now empty)" in message


def test_a_deleted_tail_fails_against_the_anchor(anchor_file, tamper):
    wipe_everything(tamper, keep=3)

    assert verify_audit("--no-record").startswith("OK: 3 events")
    assert "event #5 is missing (the ledger now ends at #3)" in broken("--anchor", str(anchor_file))


def test_a_rewritten_ledger_fails_against_the_anchor(anchor_file, tamper):
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(payload={"forged": True})
        prev_hash = AuditEvent.objects.get(sequence=2).prev_hash
        for event in AuditEvent.objects.filter(sequence__gte=2).order_by("sequence"):
            event.prev_hash = prev_hash
            prev_hash = hash_of(event)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=prev_hash)
        LedgerHead.objects.update(hash=prev_hash)
        connection.cursor().execute("DELETE FROM audit_ledgercheckpoint")

    assert verify_audit("--no-record").startswith("OK: 7 events")
    message = broken("--anchor", str(anchor_file))
    assert "event #5 no longer has the hash" in message
    assert "the ledger was rewritten at or before #5" in message


def test_an_edited_anchor_file_is_refused(anchor_file):
    document = json.loads(anchor_file.read_text())
    document["sequence"] = 6
    anchor_file.write_text(json.dumps(document))

    message = broken("--anchor", str(anchor_file))

    assert message.startswith("BROKEN anchor file: ")
    assert "does not verify against its own public key: it was altered" in message


@pytest.mark.parametrize("content", ["not json", "{}", '{"format": "hitl-ledger-anchor/1"}'])
def test_an_unreadable_anchor_file_is_refused_with_the_reason(tmp_path, content):
    path = tmp_path / "anchor.json"
    path.write_text(content)
    assert broken("--anchor", str(path)).startswith("BROKEN anchor file: ")


def test_exporting_without_a_signed_checkpoint_says_what_to_do(tmp_path):
    events(1)
    with pytest.raises(CommandError, match="run `manage.py checkpoint_ledger` first"):
        verify_audit("--export-anchor", str(tmp_path / "a.json"))
    assert not (tmp_path / "a.json").exists()


def test_checkpoint_ledger_signs_the_verified_head_on_demand():
    *_, last = events(2)
    out = StringIO()
    call_command("checkpoint_ledger", stdout=out)
    assert f"Signed checkpoint at #2 ({last.hash})" in out.getvalue()
    out = StringIO()
    call_command("checkpoint_ledger", stdout=out)  # nothing new: the same checkpoint
    assert f"Signed checkpoint at #2 ({last.hash})" in out.getvalue()


def test_checkpoint_ledger_signs_nothing_when_the_ledger_is_broken(tamper):
    events(2)
    with tamper():
        AuditEvent.objects.filter(sequence=1).update(action="forged")
    with pytest.raises(CommandError, match="Not signed: BROKEN at #1"):
        call_command("checkpoint_ledger", stdout=StringIO())
