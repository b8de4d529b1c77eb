"""`make serve`: the production shape on the machine at hand.

    .venv/bin/python -m hitl_project.serve      (make serve runs this)

1. refuses to start unless `manage.py check --deploy` passes with DEBUG off (it prints why);
2. applies migrations and collects static files (served by WhiteNoise from the web process);
3. starts gunicorn with hitl_project/gunicorn.conf.py and a django-q2 cluster (`qcluster`),
   both on DATABASE_URL and REDIS_URL from the environment, and on PostgreSQL the ledger
   sealer (`seal_ledger`, audit/services/sealer.py), which chains the events case openings
   record so that requests spend nothing on it;
4. Ctrl-C (or SIGTERM) stops them all cleanly: gunicorn finishes the requests in flight, the
   cluster the tasks in hand, the sealer seals what is pending; if one stops by itself, the
   others are stopped too.

Settings come from the environment exactly as for any deployment (README, "Configuration");
DEBUG defaults to 0 here. WEB_BIND (default 127.0.0.1:8000) says where gunicorn listens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
GUNICORN_CONFIG = str(ROOT / "hitl_project" / "gunicorn.conf.py")
STOP_SECONDS = 45  # graceful stop of both, then SIGKILL


class NotReady(Exception):
    """The deployment is not fit to serve; the message says why and what to set."""


def serve_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    env.setdefault("DEBUG", "0")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def preflight(env: dict[str, str]) -> None:
    """`check --deploy` must pass with DEBUG off: no production start on a debug setup."""
    if env.get("DEBUG", "0").strip().lower() in {"1", "true", "yes", "on"}:
        raise NotReady("DEBUG is on: `make serve` is the production shape; use `make run`.")
    done = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        # A settings error is a traceback whose last line is the reason; a failed check lists
        # its findings: show those, not the whole traceback.
        reason = "\n".join(output[-12:]) if output else f"exit status {done.returncode}"
        raise NotReady(f"`manage.py check --deploy` did not pass:\n{reason}")


def prepare(env: dict[str, str]) -> None:
    """Apply migrations and collect static files; either failing stops the start."""
    for args in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        done = manage(args, env)
        if done.returncode != 0:
            raise NotReady(f"`manage.py {' '.join(args)}` failed:\n{done.stderr[-3000:]}")


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: Ctrl-C reaches it through us only
    )


def start_web(env: dict[str, str]) -> subprocess.Popen:
    return _start([GUNICORN, "-c", GUNICORN_CONFIG, "hitl_project.wsgi:application"], env)


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return _start([PYTHON, "manage.py", "qcluster"], env)


def uses_postgresql(env: dict[str, str]) -> bool:
    return env.get("DATABASE_URL", "").split(":", 1)[0] in {"postgres", "postgresql", "pgsql"}


def start_sealer(env: dict[str, str]) -> subprocess.Popen:
    return _start([PYTHON, "manage.py", "seal_ledger"], env)


def stop(processes: list[subprocess.Popen], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM to each main process, wait for all, SIGKILL the groups left after `timeout`.

    Only the main process is asked: gunicorn's master stops its workers once their requests
    are answered, qcluster's sentinel its workers once their tasks are done. Signalling the
    whole group would hit those workers mid-request or mid-task.
    """
    for proc in processes:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    env = serve_environment()
    try:
        preflight(env)
        prepare(env)
    except NotReady as reason:
        print(f"Not starting: {reason}", file=sys.stderr)
        return 1
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    processes = {"gunicorn": start_web(env), "qcluster": start_worker(env)}
    if uses_postgresql(env):
        processes["ledger sealer"] = start_sealer(env)
    pids = ", ".join(f"{name} pid {proc.pid}" for name, proc in processes.items())
    print(
        f"HITL Oversight serving on http://{env.get('WEB_BIND', '127.0.0.1:8000')}/ "
        f"({pids}); Ctrl-C stops them all.",
        flush=True,
    )
    while not stopping and all(proc.poll() is None for proc in processes.values()):
        time.sleep(0.5)
    if not stopping:
        which = next(name for name, proc in processes.items() if proc.poll() is not None)
        print(f"{which} stopped by itself; stopping the others.", file=sys.stderr)
    stop(list(processes.values()))
    print("Stopped.", flush=True)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
