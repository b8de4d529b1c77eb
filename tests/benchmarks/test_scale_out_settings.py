"""The scale-out script's environment passes the production start-up checks.

benchmarks/scale_out.py is never run by the suite, so a setting added to production start-up
would break it silently: this runs Django's checks in a fresh process with its environment.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

from django.test import override_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def load_scale_out():
    path = PROJECT_DIR / "benchmarks" / "scale_out.py"
    spec = importlib.util.spec_from_file_location("scale_out", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scale_out_environment_passes_the_checks_with_debug_off():
    scale_out = load_scale_out()
    env = scale_out.environment(
        "postgres://nobody@127.0.0.1:1/nothing_bench", "redis://127.0.0.1:1/0", 8512
    )
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
    assert env["LOG_FORMAT"] == "json"


def test_the_scale_out_environment_allows_webhooks_to_its_local_receiver():
    from oversight.services.callback_policy import check_callback_url

    scale_out = load_scale_out()
    env = scale_out.environment("postgres://nobody@127.0.0.1:1/x_bench", "", 8512)
    allowed = [entry for entry in env["WEBHOOK_ALLOWED_TARGETS"].split(",") if entry]
    with override_settings(WEBHOOK_ALLOWED_TARGETS=allowed):
        check_callback_url(f"http://{scale_out.HOST}:8512/hooks")


def test_the_log_readers_count_requests_tasks_and_schedule_runs(tmp_path):
    scale_out = load_scale_out()
    web = tmp_path / "web.log"
    web.write_text(
        "[2026-11-30 15:40:00 +0000] [1] [INFO] Booting worker\n"
        '{"logger": "hitl.requests", "status": 200}\n'
        '{"logger": "hitl.requests", "status": 202}\n'
        '{"logger": "django.request", "status_code": 404}\n'
    )
    cluster = tmp_path / "cluster.log"
    cluster.write_text(
        '{"message": "Processed \'oversight.tasks.deliver_webhook\' (alpha-bravo)"}\n'
        '{"message": "P-1 created task charlie-delta from schedule [Sweep cases]"}\n'
        "not json\n"
    )
    assert scale_out.requests_logged(web) == {200: 1, 202: 1}
    assert scale_out.tasks_processed(cluster) == [
        ("oversight.tasks.deliver_webhook", "alpha-bravo")
    ]
    runs, created_by = scale_out.schedule_runs([cluster])
    assert runs == {"Sweep cases": ["charlie-delta"]}
    assert created_by == [1]


def test_the_scale_out_journey_is_live_so_a_confident_call_is_automated(db):
    """New journeys start in shadow; the benchmark's load (mostly automated calls) needs its
    journey live, or every call would go to a person and count as an error."""
    from oversight.models import Journey
    from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate

    scale_out = load_scale_out()
    scale_out.seed()
    journey = Journey.objects.get(slug="refunds")

    result = evaluate_gate(
        ai_system=journey.ai_system,
        request=GateRequest(
            journey="refunds",
            action=ProposedAction(type="refund"),
            signals={"confidence": 0.99},
            context={"order_id": "A-1"},
        ),
    )

    assert journey.mode == "live"
    assert result.route == "automate"
