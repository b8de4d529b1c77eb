"""The chaos script's app environment passes the production start-up checks.

benchmarks/chaos.py runs the app with DEBUG=0, where the project refuses to start without a
ledger signing key (audit.E002) and refuses webhooks to loopback unless allowed. The script is
never run by the suite, so a setting added to production start-up breaks it silently: this
test runs Django's checks in a fresh process with the script's own environment.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

from django.test import override_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def load_chaos():
    spec = importlib.util.spec_from_file_location("chaos", PROJECT_DIR / "benchmarks" / "chaos.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("chaos", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_chaos_app_environment_passes_the_deploy_checks():
    chaos = load_chaos()
    env = chaos.app_env("postgres://nobody@127.0.0.1:1/nothing")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert env["DEBUG"] == "0"


def test_the_chaos_app_environment_allows_webhooks_to_its_local_receiver():
    from oversight.services.callback_policy import check_callback_url

    chaos = load_chaos()
    env = chaos.app_env("postgres://nobody@127.0.0.1:1/nothing")
    allowed = [entry for entry in env.get("WEBHOOK_ALLOWED_TARGETS", "").split(",") if entry]
    with override_settings(WEBHOOK_ALLOWED_TARGETS=allowed):
        check_callback_url(f"http://{chaos.HOST}:8144/hook")
