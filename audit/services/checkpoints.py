"""Signed checkpoints: writing them, and the anchor file that carries one outside the product."""

import datetime
import json
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from audit.models import LedgerCheckpoint
from audit.services.anchors import Anchor, signed_head
from audit.signing import (
    SignedHead,
    decode_public_key,
    encode_public_key,
    key_id_of,
    sign,
    signature_valid,
    signing_key,
)

ANCHOR_FORMAT = "hitl-ledger-anchor/1"


class AnchorFileError(ValueError):
    """An anchor file that cannot be read or does not verify; the message says why."""


def write_checkpoint(*, kind: str, sequence: int, head_hash: str) -> LedgerCheckpoint:
    """Sign (sequence, hash, time, kind, key id) with the signing key and store the checkpoint.

    Raises SigningKeyMissing (a configuration error) when no key is configured: a checkpoint
    nobody signed would vouch for nothing.
    """
    key = signing_key()
    checkpoint = LedgerCheckpoint(
        sequence=sequence,
        head_hash=head_hash,
        kind=kind,
        created_at=timezone.now(),
        key_id=key_id_of(key.public_key()),
    )
    checkpoint.signature = sign(signed_head(checkpoint), key)
    checkpoint.save(force_insert=True)
    return checkpoint


def latest_signed_checkpoint() -> LedgerCheckpoint | None:
    return (
        LedgerCheckpoint.objects.exclude(signature="").order_by("-sequence", "-created_at").first()
    )


def anchor_document(checkpoint: LedgerCheckpoint) -> dict:
    """The checkpoint as a self-contained JSON document: its signature and the public key."""
    key = signing_key().public_key()
    if key_id_of(key) != checkpoint.key_id:
        raise AnchorFileError(
            f"The latest signed checkpoint (#{checkpoint.sequence}) was signed with key "
            f"{checkpoint.key_id}, not the current one: write a new checkpoint first "
            "(`manage.py checkpoint_ledger`)."
        )
    head = signed_head(checkpoint)
    return {
        "format": ANCHOR_FORMAT,
        "sequence": head.sequence,
        "hash": head.hash,
        "created_at": head.created_at,
        "kind": head.kind,
        "key_id": head.key_id,
        "public_key": encode_public_key(key),
        "signature": checkpoint.signature,
        "exported_at": timezone.now().astimezone(datetime.UTC).isoformat(),
    }


def write_anchor_file(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def read_anchor_file(path: Path) -> Anchor:
    """Read an exported anchor and check its signature against the public key it carries.

    The file is trusted as a whole (it was kept outside the product), so its own public key is
    the one that counts; the key id must still be that key's id.
    """
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise AnchorFileError(f"Cannot read the anchor file {path}: {error.strerror}.") from None
    except ValueError:
        raise AnchorFileError(f"{path} is not JSON: not an anchor file.") from None
    if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
        raise AnchorFileError(f"{path} is not a ledger anchor ({ANCHOR_FORMAT}).")
    try:
        head = SignedHead(
            sequence=int(document["sequence"]),
            hash=str(document["hash"]),
            created_at=str(document["created_at"]),
            kind=str(document["kind"]),
            key_id=str(document["key_id"]),
        )
        public_key = decode_public_key(str(document["public_key"]))
        signature = str(document["signature"])
    except (KeyError, TypeError, ValueError) as error:
        raise AnchorFileError(f"{path} is incomplete or malformed ({error}).") from None
    if key_id_of(public_key) != head.key_id or not signature_valid(head, signature, public_key):
        raise AnchorFileError(
            f"The anchor in {path} does not verify against its own public key: it was altered."
        )
    return Anchor(
        sequence=head.sequence,
        hash=head.hash,
        label=f"the exported anchor at #{head.sequence} (signed {head.created_at})",
    )


def checkpoint_verified_head(*, kind: str, check) -> LedgerCheckpoint | None:
    """Sign the head a successful check reached, unless a checkpoint already covers it."""
    if not check.ok or check.head_sequence == 0:
        return None
    with transaction.atomic():
        latest = latest_signed_checkpoint()
        if latest is not None and latest.sequence >= check.head_sequence:
            return None
        return write_checkpoint(kind=kind, sequence=check.head_sequence, head_hash=check.head_hash)
