"""PDF signatures (PAdES) on issued reports, so anyone can check a copy without this product.

Each issued report is signed with pyHanko (PAdES baseline B-B: a CMS signature over the whole
file, with the signing certificate embedded and signed). Adobe Reader, poppler's `pdfsig` or
pyHanko then tell whether any byte changed since signing and who signed, with no access to our
database.

The key and certificate come from PEM files named in the settings (`REPORT_SIGNING_KEY_FILE`,
`REPORT_SIGNING_CERT_FILE`, passphrase in `REPORT_SIGNING_KEY_PASSPHRASE`). Production must name
them: a missing or unreadable file is refused with a message saying what to set. For a demo or a
developer's checkout (`REPORT_SIGNING_GENERATE_DEV_CERT`, on with DEBUG), a self-signed key and
certificate are made on first use in `REPORT_SIGNING_DEV_DIR` (mode 0600, git-ignored).
"""

import datetime
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEV_KEY_NAME = "report-signing-key.pem"
DEV_CERT_NAME = "report-signing-cert.pem"
DEV_COMMON_NAME = "HITL Oversight report signing (demo, self-signed)"
DEV_VALIDITY_DAYS = 3 * 365
SIGNATURE_FIELD = "HITLOversightReport"


class SigningNotConfigured(ImproperlyConfigured):
    """No usable signing key and certificate: reports cannot be issued."""


@dataclass(frozen=True)
class SigningFiles:
    key: Path
    cert: Path
    passphrase: bytes | None


def generate_self_signed(directory: Path, *, common_name: str = DEV_COMMON_NAME) -> SigningFiles:
    """Write a new RSA-3072 key (0600) and a self-signed certificate for signing PDFs.

    For demos and development only: a reader trusts it only after importing it by hand.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HITL Oversight"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DEV_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / DEV_KEY_NAME, directory / DEV_CERT_NAME
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SigningFiles(key=key_path, cert=cert_path, passphrase=None)


def signing_files() -> SigningFiles:
    """The configured key and certificate, or the demo ones (made on first use when allowed).

    Raises SigningNotConfigured, saying what to set, when neither is available.
    """
    key_file = settings.REPORT_SIGNING_KEY_FILE
    cert_file = settings.REPORT_SIGNING_CERT_FILE
    passphrase = settings.REPORT_SIGNING_KEY_PASSPHRASE or None
    if key_file or cert_file:
        if not (key_file and cert_file):
            raise SigningNotConfigured(
                "Set both REPORT_SIGNING_KEY_FILE and REPORT_SIGNING_CERT_FILE (PEM files) to "
                "sign reports; only one of them is set."
            )
        for label, name in (("key", key_file), ("certificate", cert_file)):
            if not Path(name).is_file():
                raise SigningNotConfigured(
                    f"The report signing {label} file {name} does not exist or is not a file."
                )
        return SigningFiles(
            key=Path(key_file),
            cert=Path(cert_file),
            passphrase=passphrase.encode() if passphrase else None,
        )
    if not settings.REPORT_SIGNING_GENERATE_DEV_CERT:
        raise SigningNotConfigured(
            "Reports are signed, and no signing certificate is configured: set "
            "REPORT_SIGNING_KEY_FILE and REPORT_SIGNING_CERT_FILE (PEM files; the key's "
            "passphrase, if any, in REPORT_SIGNING_KEY_PASSPHRASE). See the compliance guide."
        )
    directory = Path(settings.REPORT_SIGNING_DEV_DIR)
    key_path, cert_path = directory / DEV_KEY_NAME, directory / DEV_CERT_NAME
    if key_path.is_file() and cert_path.is_file():
        return SigningFiles(key=key_path, cert=cert_path, passphrase=None)
    return generate_self_signed(directory)


@lru_cache(maxsize=4)
def _load_signer(key: str, cert: str, passphrase: bytes | None, stamp: tuple):
    from pyhanko.sign import signers

    # pyHanko logs and returns None for a key it cannot read (wrong passphrase, wrong format).
    signer = signers.SimpleSigner.load(key, cert, key_passphrase=passphrase)
    if signer is None:
        raise SigningNotConfigured(
            f"The report signing key {key} or certificate {cert} could not be read (wrong "
            "passphrase in REPORT_SIGNING_KEY_PASSPHRASE, or not PEM)."
        )
    return signer


def signer():
    """The pyHanko signer for the configured files, reloaded when a file changes (rotation)."""
    files = signing_files()
    stamp = tuple(path.stat().st_mtime_ns for path in (files.key, files.cert))
    return _load_signer(str(files.key), str(files.cert), files.passphrase, stamp)


def signing_certificate_pem() -> bytes:
    """The certificate reports are signed with now, as PEM (to hand to a reader)."""
    return signing_files().cert.read_bytes()


def sign_pdf(pdf: bytes, *, reason: str, location: str = "") -> bytes:
    """`pdf` with a PAdES signature over all of it, as an incremental update.

    The original bytes stay unchanged at the start of the result, so the signature covers
    exactly what was rendered, plus nothing.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location or None,
        name="HITL Oversight",
    )
    output = signers.sign_pdf(writer, metadata, signer=signer())
    return output.getvalue()
