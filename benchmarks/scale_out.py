"""Scale-out on one machine: two web instances and two task clusters on one PostgreSQL database.

    .venv/bin/python benchmarks/scale_out.py --redis-url redis://127.0.0.1:6379/9
    .venv/bin/python benchmarks/scale_out.py --database-url postgres://postgres@127.0.0.1:5432/\
hitl_ops_bench --redis-url redis://127.0.0.1:6379/9 --ports 8510 8511 8512

What it does, in order:

1. creates a throw-away PostgreSQL database (its name must contain "bench"), migrates it, seeds
   an AI system with a refunds journey (one judgement point: low confidence), a reviewer who may
   decide there, an API key and a webhook secret; empties the Redis database given with
   --redis-url or BENCH_REDIS_URL (required: only that database number, use one nobody else
   uses);
2. starts two gunicorn instances (hitl_project/gunicorn.conf.py, 2 workers x 4 threads each) on
   two ports and two `qcluster`s (2 workers each) on the Redis broker, all production-like
   (DEBUG off, LOG_FORMAT=json), plus a local webhook receiver on the third port;
3. spreads a bounded load across both instances, alternating per request: --gate-calls gate
   calls from 4 threads (every 4th routes to a person and opens a case with a callback to the
   receiver), and for every opened case a reviewer's claim and decision through the admin over
   HTTP (signed in once, on the first instance: the session is in the database, so the second
   instance knows it too); each decision makes a webhook delivery, a task for the clusters;
4. meanwhile makes every standing schedule due at once, --rounds times, 35 s apart, while both
   clusters' schedulers run: each due moment must give exactly one run;
5. waits until every decision's webhook arrived (at most 90 s), stops everything, and prints:
   requests per instance (from each instance's own JSON request log, and as sent), tasks per
   cluster (from each cluster's log), duplicate task executions (a task processed twice, by
   either cluster: must be 0), webhooks received twice (must be 0), runs of each schedule, and
   errors. The database is dropped unless --keep.

Exit status: 0 when there were no errors and no duplicates, 1 otherwise, 2 when PostgreSQL or
Redis cannot be reached. Only 127.0.0.1 is addressed; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_bench_scale_out"
REVIEWER = ("scale-reviewer", "scale-out-" + secrets.token_urlsafe(12))
HUMAN_EVERY = 4
SCHEDULE_ROUND_SECONDS = 35  # above the scheduler's 30 s round, so each round is seen once
# django-q2's own lines: "Processed 'func' (task-name)" when a worker finished a task.
PROCESSED = re.compile(r"Processed '([^']+)' \(([^)]+)\)")
CREATED = re.compile(r"created task (\S+) from schedule \[([^\]]+)\]")


# The gate benchmark's package (benchmarks/gatebench/): its database, environment and bodies.
sys.path.insert(0, str(ROOT / "benchmarks"))
from gatebench.config import AUTOMATE_BODY, GATE_PATH, HUMAN_BODY  # noqa: E402
from gatebench.database import (  # noqa: E402
    create_database,
    dbname,
    drop_database,
    migrate,
    server_env,
)
from gatebench.in_process import setup_django  # noqa: E402
from gatebench.servers import free_port  # noqa: E402

# --------------------------------------------------------------------------- setup


def environment(database_url: str, redis_url: str, receiver_port: int) -> dict[str, str]:
    env = server_env(database_url)
    env.update(
        REDIS_URL=redis_url,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        # The admin over plain HTTP on the loopback (TLS would end at a proxy in production).
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        OTP_REQUIRED="0",
        WEBHOOK_ALLOWED_TARGETS=HOST,
        # Keep every task result for the count (the default keeps the last 250 successes).
        Q_SAVE_LIMIT="0",
        Q_WORKERS="2",
        WEB_WORKERS="2",
        WEB_THREADS="4",
        LEDGER_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Required with DEBUG off (oversight.E010): a throw-away self-signed report certificate.
    from oversight.reports.signing import generate_self_signed

    signing = generate_self_signed(Path(tempfile.mkdtemp(prefix="hitl-scale-out-signing-")))
    env.update(REPORT_SIGNING_KEY_FILE=str(signing.key), REPORT_SIGNING_CERT_FILE=str(signing.cert))
    return env


def seed() -> str:
    """The journey, a reviewer who may decide on it, the webhook secret; returns an API key."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from audit.services.ledger import Actor
    from oversight.models import (
        AISystem,
        AuthorityGrant,
        AuthorityLevel,
        Journey,
        JudgementPoint,
        TriggerCondition,
    )
    from oversight.roles import REVIEWER as REVIEWER_ROLE
    from oversight.services.authority import sync_authority_permissions
    from oversight.services.credentials import create_api_key, rotate_webhook_secret

    system = AISystem.objects.create(
        slug="support-assistant",
        name="Support assistant",
        provider="Scale-out run",
        intended_purpose="Answers customer questions and proposes refunds.",
    )
    lead = AuthorityLevel.objects.create(
        name="Team lead", rank=1, may_override=True, may_approve_irreversible=True
    )
    journey = Journey.objects.create(
        ai_system=system,
        slug="refunds",
        name="Refunds",
        automation_state="running",  # live: new journeys start in shadow (every call to a person)
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
    reviewer = get_user_model().objects.create_user(
        username=REVIEWER[0], password=REVIEWER[1], is_staff=True
    )
    reviewer.groups.add(Group.objects.get(name=REVIEWER_ROLE))
    AuthorityGrant.objects.create(
        user=reviewer, level=lead, journey=journey, justification="Scale-out run reviewer."
    )
    sync_authority_permissions(user=reviewer)
    rotate_webhook_secret(ai_system=system, actor=Actor.system("scale-out run"))
    _, key = create_api_key(ai_system=system, name="scale-out", actor=Actor.system("scale-out"))
    return key


def empty_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).flushdb()
    except redis.RedisError as error:
        print(f"Redis is not reachable at {redis_url}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


class Receiver:
    """The AI system's webhook endpoint: counts deliveries by their X-HITL-Delivery id."""

    def __init__(self, port: int):
        self.seen: Counter = Counter()
        seen, lock = self.seen, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    seen[self.headers.get("X-HITL-Delivery", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    config = str(ROOT / "hitl_project" / "gunicorn.conf.py")
    return start(
        [str(BIN / "gunicorn"), "-c", config, "hitl_project.wsgi:application"],
        {**env, "WEB_BIND": f"{HOST}:{port}"},
        log,
    )


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    return start([sys.executable, "manage.py", "qcluster"], env, log)


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each main process (gunicorn's master, qcluster's sentinel), then SIGKILL."""
    for proc in processes:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 45
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_live(base_url: str, proc: subprocess.Popen, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{base_url} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(base_url + "/health/live/", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base_url} did not answer within 90 s")


# --------------------------------------------------------------------------- load


class Tally:
    def __init__(self, bases: list[str]):
        self.lock = threading.Lock()
        self.sent: Counter = Counter()  # requests sent per instance
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self.cases: list[str] = []
        self.decided: list[str] = []
        self.bases = bases

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def gate_caller(bases, api_key, callback, budget, counter, tally: Tally, deadline) -> None:
    import requests

    sessions = {base: requests.Session() for base in bases}
    for session in sessions.values():
        session.headers["Authorization"] = f"Api-Key {api_key}"
    while time.monotonic() < deadline:
        with tally.lock:
            if counter[0] >= budget:
                return
            counter[0] += 1
            n = counter[0]
        base = bases[n % len(bases)]
        human = n % HUMAN_EVERY == 0
        body = dict(HUMAN_BODY, callback_url=callback) if human else AUTOMATE_BODY
        try:
            response = sessions[base].post(base + GATE_PATH, json=body, timeout=30)
        except requests.RequestException as error:
            tally.error(f"gate call to {base}: {type(error).__name__}")
            continue
        with tally.lock:
            tally.sent[base] += 1
            tally.statuses[response.status_code] += 1
        expected = 202 if human else 200
        if response.status_code != expected:
            tally.error(f"gate call to {base} answered {response.status_code}")
        elif human:
            with tally.lock:
                tally.cases.append(response.json()["case"]["id"])


def sign_in(base: str, tally: Tally):
    """One admin session, signed in on `base`; its cookie works on every instance."""
    import requests

    session = requests.Session()
    login = base + "/admin/login/"
    page = session.get(login, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        login,
        data={
            "csrfmiddlewaretoken": token,
            "username": REVIEWER[0],
            "password": REVIEWER[1],
            "next": "/admin/",
        },
        headers={"Referer": login},
        timeout=30,
        allow_redirects=False,
    )
    tally.sent[base] += 2
    if answer.status_code != 302:
        raise SystemExit(f"Sign-in on {base} answered {answer.status_code}, not a redirect.")
    return session


def decider(session, bases, tally: Tally, done: threading.Event, deadline) -> None:
    """Claim and decide each opened case through the admin, alternating the instances."""
    import requests

    n = 0
    while time.monotonic() < deadline:
        with tally.lock:
            case_id = tally.cases.pop(0) if tally.cases else None
        if case_id is None:
            if done.is_set():
                return
            time.sleep(0.05)
            continue
        n += 1
        steps = (
            ("claim", {}),
            ("decide", {"outcome": "approve", "rationale": "Scale-out run: the proposal fits."}),
        )
        for position, (action, fields) in enumerate(steps):
            base = bases[(n + position) % len(bases)]  # claim on one instance, decide on the other
            url = f"{base}/admin/oversight/case/{case_id}/review/{action}/"
            data = {"csrfmiddlewaretoken": session.cookies.get("csrftoken"), **fields}
            try:
                response = session.post(
                    url, data=data, headers={"Referer": url}, timeout=30, allow_redirects=False
                )
            except requests.RequestException as error:
                tally.error(f"{action} on {base}: {type(error).__name__}")
                break
            with tally.lock:
                tally.sent[base] += 1
                tally.statuses[response.status_code] += 1
            if response.status_code != 302:
                tally.error(f"{action} of case {case_id} on {base} answered {response.status_code}")
                break
        else:
            with tally.lock:
                tally.decided.append(case_id)


# --------------------------------------------------------------------------- schedules


def standing_schedules() -> list[str]:
    from django_q.models import Schedule

    return list(
        Schedule.objects.filter(repeats__lt=0).order_by("name").values_list("name", flat=True)
    )


def make_all_due() -> None:
    """Every standing schedule due now, as after a pause longer than its period."""
    import datetime

    from django.utils import timezone
    from django_q.models import Schedule

    Schedule.objects.filter(repeats__lt=0).update(
        next_run=timezone.now() - datetime.timedelta(seconds=1)
    )


# --------------------------------------------------------------------------- figures


def read_json_lines(path: Path) -> list[dict]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


def requests_logged(log: Path) -> Counter:
    """Requests an instance answered, by status, from its own request log (hitl.requests)."""
    return Counter(
        line.get("status") for line in read_json_lines(log) if line.get("logger") == "hitl.requests"
    )


def tasks_processed(log: Path) -> list[tuple[str, str]]:
    """(function, task name) of every task a cluster finished, from its log."""
    processed = []
    for line in read_json_lines(log):
        match = PROCESSED.search(line.get("message", ""))
        if match:
            processed.append((match.group(1), match.group(2)))
    return processed


def schedule_runs(logs: list[Path]) -> tuple[dict[str, list[str]], list[int]]:
    """Task names created from each schedule, and how many each cluster's scheduler created."""
    runs: dict[str, list[str]] = defaultdict(list)
    created_by = []
    for log in logs:
        created = 0
        for line in read_json_lines(log):
            match = CREATED.search(line.get("message", ""))
            if match:
                runs[match.group(2)].append(match.group(1))
                created += 1
        created_by.append(created)
    return runs, created_by


def database_figures() -> dict:
    from django.db.models import Max

    from audit.models import LedgerCheckpoint, LedgerVerification
    from oversight.models import Case, Decision, GateEvaluation, WebhookDelivery
    from oversight.models.integration import DeliveryStatus

    return {
        "gate_evaluations": GateEvaluation.objects.count(),
        "cases": Case.objects.count(),
        "decisions": Decision.objects.count(),
        "deliveries": WebhookDelivery.objects.count(),
        "delivered": WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count(),
        "max_attempts": WebhookDelivery.objects.aggregate(n=Max("attempt_count"))["n"] or 0,
        "verifications": LedgerVerification.objects.filter(triggered_by="schedule").count(),
        "checkpoints": LedgerCheckpoint.objects.count(),
    }


def task_results() -> dict:
    from django.db.models import Count
    from django_q.models import Task

    return {
        "results": Task.objects.count(),
        "attempted_twice": Task.objects.filter(attempt_count__gt=1).count(),
        "by_group": dict(
            Task.objects.exclude(group=None).values_list("group").annotate(n=Count("id"))
        ),
    }


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help="a Redis database this run may empty (FLUSHDB), e.g. redis://127.0.0.1:6379/9",
    )
    parser.add_argument(
        "--ports", type=int, nargs=3, metavar=("WEB1", "WEB2", "RECEIVER"), default=None
    )
    parser.add_argument("--gate-calls", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3, help="times every schedule is made due")
    parser.add_argument("--seconds", type=int, default=240, help="upper bound of the load phase")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()

    if not args.redis_url:
        print(
            "Name a Redis database this run may empty: --redis-url redis://127.0.0.1:6379/9 "
            "(or BENCH_REDIS_URL). It is emptied first, so that only this run's tasks are counted.",
            file=sys.stderr,
        )
        return 2
    ports = args.ports or [free_port() for _ in range(3)]
    bases = [f"http://{HOST}:{port}" for port in ports[:2]]
    env = environment(args.database_url, args.redis_url, ports[2])
    print(f"Database {dbname(args.database_url)}, Redis {args.redis_url}")
    version = create_database(args.database_url, force=args.force)
    print(f"PostgreSQL {version}; migrating …", flush=True)
    empty_redis(args.redis_url)
    logs_dir = Path(tempfile.mkdtemp(prefix="hitl-scale-out-"))
    processes: list[subprocess.Popen] = []
    receiver = None
    try:
        migrate(env)
        setup_django(env)
        api_key = seed()
        schedules = standing_schedules()
        receiver = Receiver(ports[2])
        callback = f"http://{HOST}:{ports[2]}/hooks"
        web_logs = [logs_dir / f"web-{i + 1}.log" for i in range(2)]
        cluster_logs = [logs_dir / f"cluster-{i + 1}.log" for i in range(2)]
        webs = [start_web(env, port, log) for port, log in zip(ports[:2], web_logs, strict=True)]
        clusters = [start_cluster(env, log) for log in cluster_logs]
        processes = webs + clusters
        for base, proc, log in zip(bases, webs, web_logs, strict=True):
            wait_live(base, proc, log)
        print(f"Two instances at {', '.join(bases)}, two clusters; logs in {logs_dir}", flush=True)

        tally = Tally(bases)
        session = sign_in(bases[0], tally)
        started = time.monotonic()
        deadline = started + args.seconds
        counter = [0]
        callers = [
            threading.Thread(
                target=gate_caller,
                args=(bases, api_key, callback, args.gate_calls, counter, tally, deadline),
            )
            for _ in range(4)
        ]
        gate_done = threading.Event()
        deciders = [
            threading.Thread(target=decider, args=(session, bases, tally, gate_done, deadline))
            for _ in range(2)
        ]
        for thread in callers + deciders:
            thread.start()
        due_moments = 0
        for _ in range(args.rounds):
            make_all_due()
            due_moments += 1
            time.sleep(SCHEDULE_ROUND_SECONDS)
        for thread in callers:
            thread.join()
        gate_done.set()
        for thread in deciders:
            thread.join()
        load_seconds = time.monotonic() - started
        # Let the last round's runs and the webhooks finish.
        wait_until = time.monotonic() + 90
        while time.monotonic() < wait_until:
            if sum(receiver.seen.values()) >= len(tally.decided):
                break
            time.sleep(1)
        time.sleep(5)
        figures = database_figures()
        results = task_results()
    finally:
        stop(processes)
        if receiver is not None:
            receiver.close()

    per_instance = [requests_logged(log) for log in web_logs]
    per_cluster = [tasks_processed(log) for log in cluster_logs]
    all_tasks = Counter(name for processed in per_cluster for _, name in processed)
    duplicates = {name: n for name, n in all_tasks.items() if n > 1}
    twice_received = {key: n for key, n in receiver.seen.items() if n > 1}
    runs, created_by = schedule_runs(cluster_logs)

    print()
    print(
        f"Load: {load_seconds:.0f} s; {args.gate_calls} gate calls (1 in {HUMAN_EVERY} to a "
        f"person), {len(tally.decided)} cases claimed and decided through the admin"
    )
    print()
    print("requests per instance        answered (own log)   sent   statuses (own log)")
    for base, logged in zip(bases, per_instance, strict=True):
        print(
            f"  {base:<26} {sum(logged.values()):>18} {tally.sent[base]:>6}   "
            + ", ".join(f"{status}: {n}" for status, n in sorted(logged.items()))
        )
    print()
    print("tasks per cluster            processed   by function")
    for i, processed in enumerate(per_cluster):
        functions = Counter(func for func, _ in processed)
        print(
            f"  cluster {i + 1:<19} {len(processed):>9}   "
            + ", ".join(f"{func.rsplit('.', 1)[-1]}: {n}" for func, n in sorted(functions.items()))
        )
    print()
    print(f"duplicate task executions (a task name processed twice): {len(duplicates)}")
    print(f"task results attempted more than once (django-q2):       {results['attempted_twice']}")
    print(f"webhooks received twice (same X-HITL-Delivery id):       {len(twice_received)}")
    print(
        f"webhooks: {figures['deliveries']} deliveries, {figures['delivered']} delivered, "
        f"{sum(receiver.seen.values())} received, most attempts {figures['max_attempts']}"
    )
    print()
    print(f"schedules: every standing schedule made due {due_moments} times, 35 s apart")
    print(
        "  runs created by each cluster's scheduler: "
        + ", ".join(f"cluster {i + 1}: {n}" for i, n in enumerate(created_by))
    )
    print("  schedule                                              runs   run by cluster")
    for name in schedules:
        names = set(runs.get(name, []))
        by_cluster = [sum(1 for _, task in processed if task in names) for processed in per_cluster]
        print(f"  {name[:52]:<52} {len(runs.get(name, [])):>5}   {by_cluster}")
    print(
        "  ledger verifications recorded by the schedules (each verify run and each "
        f"checkpoint run verifies): {figures['verifications']}; new checkpoints: "
        f"{figures['checkpoints']} (none when no event was added since the last)"
    )
    print()
    print(
        f"database: {figures['gate_evaluations']} gate evaluations, {figures['cases']} cases, "
        f"{figures['decisions']} decisions"
    )
    print(f"errors: {len(tally.errors)}")
    for error in Counter(tally.errors).most_common(10):
        print(f"  {error[1]} x {error[0]}")

    if not args.keep:
        drop_database(args.database_url)
    else:
        print(f"Kept the database and the logs ({logs_dir}).")
    failed = tally.errors or duplicates or twice_received or results["attempted_twice"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
