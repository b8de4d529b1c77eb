"""The key that signs ledger checkpoints: outside the database, so the database cannot forge it.

Whoever can write to the database can rewrite the hash chain and every hash in it; they cannot
sign a checkpoint without the private key. The key is an Ed25519 key read from
`LEDGER_SIGNING_KEY` (PEM text, or the 32 raw bytes in base64) or from the file named by
`LEDGER_SIGNING_KEY_FILE`. With DEBUG on and neither set, a key is generated on first use into
`LEDGER_DEV_KEY_FILE` (git-ignored, mode 0600) so a checkout works with no configuration; with
DEBUG off a missing key is a configuration error.

Verification trusts the current key and the retired public keys listed in `LEDGER_PUBLIC_KEYS`
("key_id:base64,..."), both from settings, never a key found in the database: a key the
database could supply would be one an intruder could supply. docs/reliability.md describes
rotation.
"""

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SIGNATURE_FORMAT = "hitl-ledger-checkpoint/1"


class SigningKeyMissing(ImproperlyConfigured):
    pass


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the start of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_bytes(public_key)).hexdigest()[:16]


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key_bytes(public_key)).decode()


def decode_public_key(text: str) -> Ed25519PublicKey:
    """Base64 of the 32 raw bytes -> public key; ValueError when it is not one."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not an Ed25519 public key in base64 ({error})") from None


def _parse_private_key(text: str, *, source: str) -> Ed25519PrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            f"{source} does not hold an Ed25519 private key (PEM, or 32 bytes in base64): {error}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source} holds a key that is not Ed25519.")
    return key


def _generate_dev_key(path: Path) -> Ed25519PrivateKey:
    """Write a new key readable by its owner only; an existing file is never overwritten."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _parse_private_key(path.read_text(), source=str(path))
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


@cache
def _load(inline: str, file: str, dev_file: str, debug: bool, generate: bool) -> Ed25519PrivateKey:
    if inline:
        return _parse_private_key(inline, source="LEDGER_SIGNING_KEY")
    if file:
        path = Path(file)
        if not path.is_file():
            raise SigningKeyMissing(f"LEDGER_SIGNING_KEY_FILE={file!r}: no such file.")
        return _parse_private_key(path.read_text(), source=f"LEDGER_SIGNING_KEY_FILE ({file})")
    if debug and dev_file:
        path = Path(dev_file)
        if path.is_file():
            return _parse_private_key(path.read_text(), source=str(path))
        if generate:
            return _generate_dev_key(path)
    raise SigningKeyMissing(
        "No ledger signing key: set LEDGER_SIGNING_KEY_FILE to the path of an Ed25519 private "
        "key in PEM (or LEDGER_SIGNING_KEY to its text). Generate one with "
        "`manage.py ledger_signing_key --generate FILE`. Keep it outside the database and its "
        "backups: it is what makes the ledger's checkpoints trustworthy."
    )


def signing_key(*, generate: bool = True) -> Ed25519PrivateKey:
    """The private key checkpoints are signed with (SigningKeyMissing when there is none).

    `generate=False` (verification) never creates the development key: checking signatures
    needs no key of one's own.
    """
    return _load(
        getattr(settings, "LEDGER_SIGNING_KEY", ""),
        str(getattr(settings, "LEDGER_SIGNING_KEY_FILE", "") or ""),
        str(getattr(settings, "LEDGER_DEV_KEY_FILE", "") or ""),
        settings.DEBUG,
        generate,
    )


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """key id -> public key: the current key (if one is configured) and every retired one."""
    keys = {}
    for entry in getattr(settings, "LEDGER_PUBLIC_KEYS", []):
        key_id, _, text = entry.partition(":")
        try:
            public_key = decode_public_key(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"LEDGER_PUBLIC_KEYS entry {entry!r}: {error}") from None
        if key_id_of(public_key) != key_id.strip():
            raise ImproperlyConfigured(
                f"LEDGER_PUBLIC_KEYS entry {entry!r}: the key's id is {key_id_of(public_key)}."
            )
        keys[key_id.strip()] = public_key
    try:
        current = signing_key(generate=False).public_key()
    except SigningKeyMissing:
        return keys
    keys[key_id_of(current)] = current
    return keys


@dataclass(frozen=True)
class SignedHead:
    """What a checkpoint signature covers."""

    sequence: int
    hash: str
    created_at: str  # UTC, ISO 8601
    kind: str
    key_id: str

    def message(self) -> bytes:
        return json.dumps(
            {
                "format": SIGNATURE_FORMAT,
                "sequence": self.sequence,
                "hash": self.hash,
                "created_at": self.created_at,
                "kind": self.kind,
                "key_id": self.key_id,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()


def sign(head: SignedHead, key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(head.message())).decode()


def signature_valid(head: SignedHead, signature: str, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), head.message())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
