"""Fixtures shared by the oversight tests."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup, django_db_blocker):
    """The demo, seeded once for a whole module (its 90 days take seconds) and rolled back
    after the module's last test; returns what the command printed.

    Every test still runs in its own savepoint inside it (the `db` fixture), so what one test
    changes is undone before the next. Seven demo passwords with the production hasher would
    dominate the run time, hence MD5 here.
    """
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=hashers),
        transaction.atomic(),
    ):
        out = StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
