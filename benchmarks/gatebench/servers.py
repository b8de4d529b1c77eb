"""The two gunicorns of a run: the product and benchmarks/bare, with the same options."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .config import BIN, HOST, PING_PATH, ROOT


def free_port(wanted: int = 0) -> int:
    """`wanted` if it is free (0: any free port)."""
    with socket.socket() as sock:
        sock.bind((HOST, wanted))
        return sock.getsockname()[1]


def _gunicorn_help() -> str:
    done = subprocess.run(
        [str(BIN / "gunicorn"), "--help"], capture_output=True, text=True, check=False
    )
    return done.stdout


def start_gunicorn(
    env, port, *, workers, threads, log_path, app="hitl_project.wsgi:application"
) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--timeout",
        "60",
        "--error-logfile",
        str(log_path),
    ]
    if "--no-control-socket" in _gunicorn_help():  # gunicorn >= 24: not a shared ~/.gunicorn
        command.append("--no-control-socket")
    # The app's own log (its stderr: the request log at INFO) goes with gunicorn's, not on screen.
    with log_path.open("a") as stderr:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def start_sealer(env, log_path: Path) -> subprocess.Popen:
    """`manage.py seal_ledger`, as `make serve` starts it beside gunicorn on PostgreSQL; returns
    once it holds the sealing lock (it says so in the log)."""
    with log_path.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "seal_ledger"],
            cwd=ROOT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while "holding the sealing lock" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The ledger sealer did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.1)
    return proc


def wait_until_ready(
    proc: subprocess.Popen, port: int, api_key: str, log_path: Path, path: str = PING_PATH
) -> None:
    import requests

    deadline = time.monotonic() + 60
    url = f"http://{HOST}:{port}{path}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            response = requests.get(
                url, headers={"Authorization": f"Api-Key {api_key}"}, timeout=10
            )
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            return
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:500]}")
    raise SystemExit(f"gunicorn did not answer within 60 s:\n{log_path.read_text()}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the master and its workers only
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
