"""Chaos run: gate calls and decisions while PostgreSQL restarts and workers are SIGKILLed.

    .venv/bin/python benchmarks/chaos.py               # 60 s of load and faults
    .venv/bin/python benchmarks/chaos.py --seconds 120

What it does, in order:

1. starts its own throw-away PostgreSQL cluster (`initdb`, `pg_ctl` from
   /usr/lib/postgresql/*/bin) in a temporary folder on --pg-port (5441), never a shared server;
   as root it runs them as the `postgres` user (`runuser`), which owns the folder;
2. migrates a database there, seeds an AI system with a refunds journey, a reviewer holding
   the top authority level on it, and makes an API key with `manage.py create_api_key`;
3. starts the app with gunicorn (--port, 2 workers) and a django-q2 cluster (ORM broker, in
   the same throw-away database), both production-like (DEBUG off);
4. for --seconds, drives POST /api/v1/gate/ from several threads (every third call routes to a
   person and opens a case, with a callback URL to a local receiver) and decides the opened
   cases through the decision service (claim_case + decide_case, in this process); meanwhile
   it SIGKILLs a gunicorn worker, the whole django-q2 cluster (restarting it), restarts
   PostgreSQL with `pg_ctl restart -m immediate` (a crash: WAL recovery) and later
   `-m fast`, and SIGKILLs every gunicorn worker at once;
5. prints acknowledged writes (a 200/202 answer naming its gate evaluation and case, or a
   decide_case call that returned), writes missing afterwards (each acknowledged id looked up
   in the database: must be 0), the 5xx count (500s and 503s apart), the seconds from each
   fault until the next acknowledged write, and where the decision webhooks stand;
6. stops everything it started (also on Ctrl-C) and deletes the temporary folder.

Exit status: 0 when nothing acknowledged is missing and no 500 was answered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DB_NAME = "hitl_chaos"
GATE_PATH = "/api/v1/gate/"

AUTOMATE_BODY = {
    "journey": "refunds",
    "action": {"type": "refund", "amount": "40.00", "currency": "EUR", "irreversible": False},
    "signals": {"confidence": 0.93, "sentiment": 0.1},
    "context": {"order_id": "A-10023"},
    "proposal": {"reply": "Your refund of 40.00 EUR for order A-10023 is on its way."},
    "subject_ref": "cust-4821",
}
HUMAN_BODY = {**AUTOMATE_BODY, "signals": {"confidence": 0.41, "sentiment": 0.1}}


# --------------------------------------------------------------------------- processes


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"No {name} under /usr/lib/postgresql/*/bin: install PostgreSQL.")
    return found[-1]


def as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the cluster's tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"Failed: {' '.join(command)}")
    return done


class Postgres:
    """A throw-away cluster in a temporary folder, on its own port and socket folder."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.log = folder / "postgres.log"
        self.started = False

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        run(
            as_postgres(
                [pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"]
            )
        )

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses={HOST}"
        run(
            as_postgres(
                [pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"]
                + list(args)
                + ["-o", options]
            )
        )

    def start(self) -> None:
        self.pg_ctl("start")
        self.started = True

    def restart(self, mode: str) -> None:
        self.pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(SystemExit):
                run(as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "fast"]))
            self.started = False

    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{DB_NAME}"


class Group:
    """A child in its own process group, so one signal reaches it and all its workers."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path):
        self.name, self.command, self.env, self.log_path = name, command, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        if self.process is None:
            return
        self.kill(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        self.kill(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers), from /proc."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = Path(stat).read_text()
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(Path(stat).parent.name))
    return found


# --------------------------------------------------------------------------- the app


def app_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="hitl_project.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="chaos-" + secrets.token_urlsafe(40),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
        Q_WORKERS="1",
        Q_TIMEOUT="60",
        WEBHOOK_TIMEOUT_SECONDS="5",
        TASK_LEASE_MARGIN_SECONDS="5",
        OUTBOX_GRACE_SECONDS="5",
        # DEBUG=0 refuses to start without a ledger signing key: a throw-away one (32 raw
        # bytes, base64), and webhooks may go to the local receiver on loopback.
        LEDGER_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        WEBHOOK_ALLOWED_TARGETS=HOST,
        # Reports are signed, and DEBUG=0 wants a certificate: a throw-away self-signed one.
        REPORT_SIGNING_GENERATE_DEV_CERT="1",
        REPORT_SIGNING_DEV_DIR=str(Path(tempfile.gettempdir()) / "hitl-chaos-report-signing"),
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed() -> None:
    """An AI system, a refunds journey with one judgement point, and a reviewer who may decide."""
    from django.contrib.auth import get_user_model

    from audit.services.ledger import Actor
    from oversight.models import (
        AISystem,
        AuthorityGrant,
        AuthorityLevel,
        Journey,
        JudgementPoint,
        TriggerCondition,
    )
    from oversight.services.authority import sync_authority_permissions
    from oversight.services.credentials import rotate_webhook_secret

    system = AISystem.objects.create(
        slug="support-assistant",
        name="Support assistant",
        provider="Chaos run",
        intended_purpose="Answers customer questions and proposes refunds.",
    )
    lead = AuthorityLevel.objects.create(
        name="Team lead", rank=1, may_override=True, may_approve_irreversible=True
    )
    journey = Journey.objects.create(
        ai_system=system,
        slug="refunds",
        name="Refunds",
        required_context_keys=["order_id"],
        automation_state="running",  # live: new journeys start in shadow
    )
    point = JudgementPoint.objects.create(
        journey=journey,
        slug="low-confidence",
        name="Low confidence",
        required_level=lead,
        options=["refund in full", "decline"],
    )
    TriggerCondition.objects.create(
        judgement_point=point, signal="confidence", operator="lt", value=0.7, position=0
    )
    reviewer = get_user_model().objects.create_user(username="chaos-reviewer", is_staff=True)
    AuthorityGrant.objects.create(
        user=reviewer, level=lead, journey=journey, justification="Chaos run reviewer."
    )
    sync_authority_permissions(user=reviewer)
    rotate_webhook_secret(ai_system=system, actor=Actor.system("chaos run"))


def make_api_key(env: dict[str, str]) -> str:
    done = run(
        [sys.executable, "manage.py", "create_api_key", "support-assistant", "--name", "chaos"],
        cwd=ROOT,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    no_answer: int = 0
    evaluations: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    decide_errors: Counter = field(default_factory=Counter)
    ack_times: list[float] = field(default_factory=list)
    failure_times: list[float] = field(default_factory=list)  # 5xx, no answer, decide errors
    to_decide: list[str] = field(default_factory=list)

    def acknowledged(self, at: float) -> None:
        self.ack_times.append(at)


def gate_caller(base_url: str, api_key: str, callback: str, stop: threading.Event, tally: Tally):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {api_key}"
    n = 0
    while not stop.is_set():
        n += 1
        human = n % 3 == 0
        body = dict(HUMAN_BODY, callback_url=callback) if human else AUTOMATE_BODY
        key = str(uuid.uuid4())
        try:
            response = session.post(
                base_url + GATE_PATH, json=body, headers={"Idempotency-Key": key}, timeout=10
            )
        except requests.RequestException:
            with tally.lock:
                tally.no_answer += 1
                tally.failure_times.append(time.monotonic())
            time.sleep(0.2)
            continue
        with tally.lock:
            tally.statuses[response.status_code] += 1
            if response.status_code in (200, 202):
                answer = response.json()
                tally.evaluations.append(answer["evaluation"])
                if answer.get("case"):
                    tally.cases.append(answer["case"]["id"])
                    tally.to_decide.append(answer["case"]["id"])
                tally.acknowledged(time.monotonic())
            elif response.status_code >= 500:
                tally.failure_times.append(time.monotonic())
        if response.status_code >= 500:
            time.sleep(0.2)


def decider(stop: threading.Event, tally: Tally) -> None:
    """Decide opened cases through the services, as the admin's decide view does."""
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections, connection

    from oversight.exceptions import DomainError
    from oversight.models import Case
    from oversight.services.cases import claim_case
    from oversight.services.decisions import DecisionInput, decide_case

    reviewer = None
    while not stop.is_set():
        with tally.lock:
            case_id = tally.to_decide.pop(0) if tally.to_decide else None
        if case_id is None:
            time.sleep(0.05)
            continue
        try:
            close_old_connections()
            if reviewer is None:
                reviewer = get_user_model().objects.get(username="chaos-reviewer")
            case = Case.objects.get(pk=case_id)
            claim_case(case=case, reviewer=reviewer)
            decision = decide_case(
                case=Case.objects.get(pk=case_id),
                reviewer=reviewer,
                decision=DecisionInput(outcome="approve", rationale="Chaos run: proposal fits."),
            )
        except DomainError as error:
            with tally.lock:
                tally.decide_errors[type(error).__name__] += 1
            continue
        except Exception as error:  # the database went away: try this case again later
            with tally.lock:
                tally.decide_errors[type(error).__name__] += 1
                tally.failure_times.append(time.monotonic())
                tally.to_decide.append(case_id)
            with contextlib.suppress(Exception):
                connection.close()
            time.sleep(0.2)
            continue
        with tally.lock:
            tally.decisions.append(str(decision.pk))
            tally.acknowledged(time.monotonic())


class Receiver:
    """The AI system's webhook endpoint: counts deliveries by id."""

    def __init__(self, port: int):
        self.seen: Counter = Counter()
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen[self.headers.get("X-HITL-Delivery", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- faults


@dataclass
class Fault:
    name: str
    at: float  # monotonic, when it began
    took: float = 0.0  # how long the fault's own action took (a restart waits for the server)
    failures: int = 0  # failed requests between this fault and the next
    recovered_after: float | None = None  # from `at` to the first success after the last failure


def measure_recovery(faults: list[Fault], tally: Tally, ended: float) -> None:
    """Per fault: the failures it caused, and when writes were acknowledged again after them."""
    for fault, following in zip(faults, faults[1:] + [None], strict=True):
        window_end = following.at if following else ended
        failures = [t for t in tally.failure_times if fault.at <= t < window_end]
        fault.failures = len(failures)
        since = max(failures) if failures else fault.at
        later = [t for t in tally.ack_times if t > since]
        fault.recovered_after = (min(later) - fault.at) if later else None


def wait_ready(base_url: str, api_key: str, seconds: float) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            answer = requests.post(
                base_url + GATE_PATH,
                json=AUTOMATE_BODY,
                headers={"Authorization": f"Api-Key {api_key}"},
                timeout=5,
            )
            if answer.status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer a gate call in time.")


def run_faults(duration: float, started: float, pg: Postgres, web: Group, worker: Group, faults):
    """The fault plan, spread over the run; each fault is logged when done."""

    def kill_one_web_worker():
        pids = children(web.process.pid)
        if pids:
            os.kill(pids[0], signal.SIGKILL)

    def kill_worker_cluster():
        worker.kill(signal.SIGKILL)
        time.sleep(1)
        worker.start()

    def kill_all_web_workers():
        for pid in children(web.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    plan = [
        (0.15, "SIGKILL one gunicorn worker", kill_one_web_worker),
        (0.30, "SIGKILL the django-q2 cluster (restarted 1 s later)", kill_worker_cluster),
        (
            0.45,
            "PostgreSQL restart -m immediate (crash, WAL recovery)",
            lambda: pg.restart("immediate"),
        ),
        (0.65, "SIGKILL every gunicorn worker", kill_all_web_workers),
        (0.80, "PostgreSQL restart -m fast", lambda: pg.restart("fast")),
    ]
    for share, name, action in plan:
        wait = started + share * duration - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        at = time.monotonic()
        print(f"  t={at - started:5.1f}s  {name}", flush=True)
        action()
        faults.append(Fault(name, at, took=time.monotonic() - at))


def check_written(tally: Tally) -> dict[str, int]:
    """Look up every acknowledged id; returns how many of each kind are missing."""
    from oversight.models import Case, Decision, GateEvaluation

    def missing(model, ids):
        found = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found |= {
                str(pk) for pk in model.objects.filter(pk__in=chunk).values_list("pk", flat=True)
            }
        return len(set(ids) - found)

    return {
        "gate evaluations": missing(GateEvaluation, tally.evaluations),
        "cases": missing(Case, tally.cases),
        "decisions": missing(Decision, tally.decisions),
    }


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (60)")
    parser.add_argument("--port", type=int, default=8143, help="gunicorn's port (8143)")
    parser.add_argument("--receiver-port", type=int, default=8144, help="webhook receiver (8144)")
    parser.add_argument("--pg-port", type=int, default=5441, help="throw-away PostgreSQL (5441)")
    parser.add_argument("--callers", type=int, default=4, help="concurrent gate callers (4)")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=90,
        help="how long to wait afterwards for the decision webhooks to be delivered (90)",
    )
    return parser.parse_args(argv)


def _exit_on_signal(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    folder = Path(tempfile.mkdtemp(prefix="hitl-chaos-"))
    folder.chmod(0o755)
    pg = Postgres(folder, args.pg_port)
    web = worker = receiver = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        print(f"Throw-away PostgreSQL in {folder} on port {args.pg_port} …", flush=True)
        pg.init()
        pg.start()
        run([pg_bin("createdb"), "-h", HOST, "-p", str(args.pg_port), "-U", "postgres", DB_NAME])
        env = app_env(pg.url())
        print("Migrating, seeding, making the API key with manage.py create_api_key …", flush=True)
        run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env)
        setup_django(env)
        seed()
        api_key = make_api_key(env)
        receiver = Receiver(args.receiver_port)
        callback = f"http://{HOST}:{args.receiver_port}/hook"

        base_url = f"http://{HOST}:{args.port}"
        web = Group(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "hitl_project.wsgi:application",
                "--bind",
                f"{HOST}:{args.port}",
                "--workers",
                "2",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            env,
            folder / "gunicorn.log",
        )
        worker = Group(
            "qcluster", [sys.executable, "manage.py", "qcluster"], env, folder / "qcluster.log"
        )
        print(f"Starting gunicorn on {base_url} and a django-q2 cluster …", flush=True)
        web.start()
        worker.start()
        wait_ready(base_url, api_key, 60)

        tally = Tally()
        threads = [
            threading.Thread(
                target=gate_caller, args=(base_url, api_key, callback, stop, tally), daemon=True
            )
            for _ in range(args.callers)
        ]
        threads.append(threading.Thread(target=decider, args=(stop, tally), daemon=True))
        print(
            f"Load for {args.seconds:.0f} s with {args.callers} gate callers and 1 decider; faults:"
        )
        started = time.monotonic()
        for thread in threads:
            thread.start()
        faults: list[Fault] = []
        run_faults(args.seconds, started, pg, web, worker, faults)
        remaining = started + args.seconds - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        ended = time.monotonic()

        # Decisions still owed: the decider had no time for them (they stay open, not lost).
        from django.db import close_old_connections

        close_old_connections()
        missing = check_written(tally)
        measure_recovery(faults, tally, ended)

        from oversight.models import DeliveryStatus, WebhookDelivery

        drain_deadline = time.monotonic() + args.drain_seconds
        while time.monotonic() < drain_deadline:
            if not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
                break
            time.sleep(1)
        deliveries = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        duplicates = sum(count - 1 for count in receiver.seen.values() if count > 1)

        statuses = tally.statuses
        five_xx = {code: n for code, n in statuses.items() if code >= 500}
        acknowledged = len(tally.evaluations) + len(tally.decisions)
        print()
        print(
            f"Run: {ended - started:.0f} s of load; PostgreSQL {Path(pg_bin('initdb')).parts[-3]}"
        )
        print(
            f"Gate calls answered: {sum(statuses.values())} "
            f"({', '.join(f'{code}: {n}' for code, n in sorted(statuses.items()))}); "
            f"no answer (connection refused/reset, timeout): {tally.no_answer}"
        )
        print(
            f"Acknowledged writes: {acknowledged} "
            f"({len(tally.evaluations)} gate evaluations, of which {len(tally.cases)} opened a "
            f"case; {len(tally.decisions)} decisions)"
        )
        print(
            f"Writes missing afterwards: {sum(missing.values())} "
            f"({', '.join(f'{kind}: {n}' for kind, n in missing.items())})"
        )
        print(
            f"5xx answers: {sum(five_xx.values())} "
            f"({', '.join(f'{code}: {n}' for code, n in sorted(five_xx.items())) or 'none'})"
        )
        print(
            "Decision attempts refused or failed (retried): "
            + (", ".join(f"{name}: {n}" for name, n in tally.decide_errors.items()) or "none")
        )
        print(
            "Seconds to recover (from a fault's start to the first acknowledged write after "
            "the last failed request in its window):"
        )
        for fault in faults:
            after = (
                f"{fault.recovered_after:.1f} s" if fault.recovered_after is not None else "never"
            )
            print(
                f"  {fault.name}: {after} "
                f"(the action took {fault.took:.1f} s; {fault.failures} failed requests)"
            )
        print(
            f"Decision webhooks after up to {args.drain_seconds:.0f} s: "
            f"{', '.join(f'{status}: {n}' for status, n in sorted(deliveries.items())) or 'none'}; "
            f"distinct delivery ids received: {len(receiver.seen)}, repeated receipts: {duplicates}"
        )
        ok = sum(missing.values()) == 0 and statuses.get(500, 0) == 0
        print("RESULT:", "OK" if ok else "FAILED")
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("\nInterrupted: stopping everything this run started …", file=sys.stderr)
        return 130
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        for group in (web, worker):
            if group is not None:
                group.stop()
        if receiver is not None:
            receiver.stop()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
        print("Stopped gunicorn, the worker and PostgreSQL; removed the temporary folder.")


if __name__ == "__main__":
    sys.exit(main())
