"""Show the ledger signing key's public half, or generate a new key file (for rotation)."""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError

from audit.signing import encode_public_key, key_id_of, signing_key


class Command(BaseCommand):
    # It makes the key the startup check (audit.E002) asks for: it must run without one.
    requires_system_checks = []
    help = (
        "Without options: print the current signing key's id and public key as a "
        "LEDGER_PUBLIC_KEYS entry ('key_id:base64'), to keep trusting it after a rotation. "
        "With --generate FILE: write a new Ed25519 private key to FILE (mode 0600; an existing "
        "file is never overwritten) and print its entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--generate", metavar="FILE", help="Write a new private key here.")

    def handle(self, *args, generate=None, **options):
        if generate:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                descriptor = os.open(Path(generate), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as error:
                raise CommandError(f"Cannot create {generate}: {error.strerror}.") from None
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            self.stdout.write(f"New key written to {generate} (mode 0600).")
        else:
            key = signing_key()
        public_key = key.public_key()
        self.stdout.write(f"{key_id_of(public_key)}:{encode_public_key(public_key)}")
