"""`make serve`'s pieces (hitl_project/serve.py): the deploy check refuses with its reason; the
real gunicorn config and a real qcluster serve health, static files and metrics, and stop
cleanly on SIGTERM."""

import base64
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from hitl_project import serve
from oversight.reports.signing import generate_self_signed

PORTS = range(8500, 8600)  # this project's port range for servers started by tests
HOST = "127.0.0.1"
METRICS_TOKEN = "serve-test-metrics-token"


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    """What a deployment sets, with its own SQLite file and folders (no shared state)."""
    signing = generate_self_signed(tmp_path / "signing")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "DEBUG"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        LEDGER_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        REPORT_SIGNING_KEY_FILE=str(signing.key),
        REPORT_SIGNING_CERT_FILE=str(signing.cert),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        HEALTH_MEDIA_MIN_FREE_MB="1",
        # TLS ends at the proxy in front: it says so in X-Forwarded-Proto.
        SECURE_PROXY_SSL_HEADER="1",
        METRICS_TOKEN=METRICS_TOKEN,
        WEB_BIND=f"{HOST}:{free_port()}",
        WEB_WORKERS="2",
        WEB_THREADS="2",
        Q_WORKERS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def test_serve_refuses_to_start_with_debug_on(production_env):
    with pytest.raises(serve.NotReady, match="DEBUG is on: `make serve` is the production shape"):
        serve.preflight({**production_env, "DEBUG": "1"})


def test_debug_defaults_to_off_for_serve():
    assert serve.serve_environment({})["DEBUG"] == "0"
    assert serve.serve_environment({"DEBUG": "1"})["DEBUG"] == "1"


def test_serve_stops_with_the_reason_when_check_deploy_fails(production_env):
    del production_env["LEDGER_SIGNING_KEY"]
    production_env["SECURE_HSTS_SECONDS"] = "0"
    with pytest.raises(serve.NotReady) as refused:
        serve.preflight(production_env)
    reason = str(refused.value)
    assert reason.startswith("`manage.py check --deploy` did not pass:")
    assert "(audit.E002) No ledger signing key" in reason
    assert "(security.W004)" in reason  # HSTS off is a deploy warning: refused as well


def test_serve_stops_with_the_reason_when_a_setting_is_missing(production_env):
    del production_env["SECRET_KEY"]
    with pytest.raises(serve.NotReady, match="SECRET_KEY is not set and DEBUG is off"):
        serve.preflight(production_env)


def wait_for(url: str, proc: subprocess.Popen, *, status: int, seconds: float, **kwargs):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited with {proc.returncode}"
        try:
            last = requests.get(url, timeout=30, **kwargs)
            if last.status_code == status:
                return last
        except (requests.ConnectionError, requests.Timeout):
            pass  # still booting: a worker imports Django before its first answer
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer {status} in {seconds} s (last: {last and last.text})")


def test_gunicorn_and_qcluster_serve_health_static_and_metrics_then_stop_cleanly(
    production_env,
):
    serve.preflight(production_env)  # check --deploy passes with a complete configuration
    serve.prepare(production_env)  # migrate + collectstatic
    assert (Path(production_env["STATIC_ROOT"]) / "hitl" / "admin.css").is_file()
    base = f"http://{production_env['WEB_BIND']}"
    web = serve.start_web(production_env)
    worker = None
    try:
        live = wait_for(f"{base}/health/live/", web, status=200, seconds=60)
        assert live.json() == {"status": "ok"}
        # Plain HTTP from the load balancer: no redirect to HTTPS for probes.
        assert live.history == []
        # No cluster yet: not ready, and it says why.
        not_ready = requests.get(f"{base}/health/ready/", timeout=10)
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["task_cluster"]["ok"] is False

        css = requests.get(
            f"{base}/static/hitl/admin.css", headers={"X-Forwarded-Proto": "https"}, timeout=10
        )
        assert css.status_code == 200
        assert css.content == (serve.ROOT / "static" / "hitl" / "admin.css").read_bytes()
        assert css.headers["Content-Type"].startswith("text/css")
        assert "max-age" in css.headers["Cache-Control"]  # WhiteNoise, not Django's view

        metrics = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        )
        assert metrics.status_code == 200
        assert "hitl_gate_calls" in metrics.text
        assert "django_http_requests_total_by_method" in metrics.text
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 403

        # The cluster's scheduler runs the heartbeat (due at once) on its first round (~30 s).
        worker = serve.start_worker(production_env)
        ready = wait_for(f"{base}/health/ready/", worker, status=200, seconds=120)
        assert ready.json()["status"] == "ok"
    finally:
        started = time.monotonic()
        serve.stop([proc for proc in (web, worker) if proc is not None], timeout=40)
    assert web.returncode == 0
    assert worker is None or worker.returncode == 0
    assert time.monotonic() - started < 40


@pytest.mark.parametrize(
    ("url", "sealer"),
    [
        ("postgres://hitl_app@db.internal:5432/oversight", True),
        ("postgresql://hitl_app@db.internal/oversight", True),
        ("sqlite:////srv/hitl/db.sqlite3", False),
        ("", False),  # the default: a SQLite file in the project folder
    ],
)
def test_serve_starts_the_ledger_sealer_on_postgresql_only(url, sealer):
    """On SQLite every write seals its own batch and `seal_ledger` refuses to start."""
    assert serve.uses_postgresql({"DATABASE_URL": url}) is sealer
