"""What tests that start real processes (gunicorn, qcluster, seal_ledger) need to start them."""

import os
import subprocess
import sys
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


def run_django(env_overrides: dict, code: str) -> subprocess.CompletedProcess:
    """`code` run by a fresh Python with hitl_project.settings, this environment without
    SECRET_KEY and DEBUG, and `env_overrides` on top (settings read at start-up)."""
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "hitl_project.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
