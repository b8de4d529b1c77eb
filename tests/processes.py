"""What tests that start real processes (gunicorn, qcluster, seal_ledger) need to start them."""

from pathlib import Path

from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The live test database (pytest-django's test_ name), as the subprocess must see it."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )
