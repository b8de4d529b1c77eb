"""The checkpoint signing key: from a file or the environment, generated only for development."""

import stat
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from audit.signing import SigningKeyMissing, key_id_of, signing_key, trusted_public_keys


def test_debug_without_a_key_generates_one_readable_by_its_owner_only(settings, tmp_path):
    settings.LEDGER_SIGNING_KEY = ""
    settings.DEBUG = True
    settings.LEDGER_DEV_KEY_FILE = tmp_path / "var" / "key.pem"

    key = signing_key()

    path = tmp_path / "var" / "key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert key_id_of(signing_key().public_key()) == key_id_of(key.public_key())  # reused


def test_production_without_a_key_is_a_clear_configuration_error(settings, tmp_path):
    settings.LEDGER_SIGNING_KEY = ""
    settings.DEBUG = False
    settings.LEDGER_DEV_KEY_FILE = tmp_path / "key.pem"

    with pytest.raises(SigningKeyMissing, match="set LEDGER_SIGNING_KEY_FILE"):
        signing_key()
    assert not (tmp_path / "key.pem").exists()
    assert trusted_public_keys() == {}


def test_the_key_file_setting_is_read(settings, tmp_path):
    path = tmp_path / "ledger.pem"
    call_command("ledger_signing_key", "--generate", str(path), stdout=StringIO())
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_FILE = str(path)
    settings.DEBUG = False

    assert signing_key() is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("value", ["not a key", "AAAA"])
def test_a_malformed_key_is_refused(settings, value):
    settings.LEDGER_SIGNING_KEY = value
    with pytest.raises(ImproperlyConfigured, match="does not hold an Ed25519 private key"):
        signing_key()


def test_a_missing_key_file_is_refused(settings, tmp_path):
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_FILE = str(tmp_path / "absent.pem")
    with pytest.raises(SigningKeyMissing, match="no such file"):
        signing_key()


def test_production_without_a_key_stops_at_startup(settings, tmp_path):
    from django.core.checks import run_checks

    settings.LEDGER_SIGNING_KEY = ""
    settings.DEBUG = False
    errors = [error for error in run_checks() if error.id == "audit.E002"]
    assert len(errors) == 1
    assert "No ledger signing key" in errors[0].msg
    settings.LEDGER_SIGNING_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert not [error for error in run_checks() if error.id == "audit.E002"]


def test_verifying_never_generates_a_key(settings, tmp_path):
    from audit.signing import trusted_public_keys

    settings.LEDGER_SIGNING_KEY = ""
    settings.DEBUG = True
    settings.LEDGER_DEV_KEY_FILE = tmp_path / "key.pem"

    assert trusted_public_keys() == {}
    assert not (tmp_path / "key.pem").exists()
