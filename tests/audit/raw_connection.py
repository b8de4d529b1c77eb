"""A second PostgreSQL session beside the test's own, for tests that hold a lock from outside."""

import psycopg
from django.conf import settings
from django.db import connection


def raw_connection() -> psycopg.Connection:
    """An autocommit connection to the test database (not Django's: its own session)."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )
