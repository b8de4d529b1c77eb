"""wrk as the load tool: a C client that leaves the CPU to the server (issue #17).

One wrk run per slice: `wrk -t<n> -c<n> -d<s>s --latency --timeout 10s -s <script> <url>`, so
each of the n threads holds one keep-alive connection. The Lua script (written here, one per
row) sets the method, the API key, Content-Type and the body; for the case-opening row thread k
sends the body of journey cases-k (`setup(thread)` numbers the threads, `init` picks the body),
so the callers contend only on what all case openings share. No Idempotency-Key is sent: the
gate would replay a repeated key's first answer instead of evaluating again (the Python client
sends none either), so every request does the real work.

`done()` prints one line, `GATEBENCH-JSON {...}`: completed requests, requests sent (a request
in flight when the slice ends is sent but never answered, though the server may still write
its row), every HTTP status counted by `response()`, wrk's socket errors, the duration and the
latency at fixed percentiles, from which the rounds' latencies are merged.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from .config import (
    BARE_INSERT_PATH,
    BARE_OK_PATH,
    CASE_JOURNEYS,
    GATE_PATH,
    PING_PATH,
    automate_json,
    case_body,
)

MARKER = "GATEBENCH-JSON "
# Percentiles reported per slice: every 0.5 % and the tail finer, enough to merge p50 and p99.
PERCENTILES = tuple(p / 2 for p in range(1, 199)) + (99.25, 99.5, 99.75, 99.9, 100.0)

_LUA = """\
-- Written by benchmarks/gatebench/load_wrk.py for one row of the gate benchmark.
local method = {method}
local path = {path}
local api_key = {api_key}
local bodies = {{{bodies}}}  -- thread k sends bodies[(k - 1) % #bodies + 1]
local percentiles = {{{percentiles}}}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  local headers = {{["Authorization"] = "Api-Key " .. api_key}}
  local body = nil
  if #bodies > 0 then
    body = bodies[(number - 1) % #bodies + 1]
    headers["Content-Type"] = "application/json"
  end
  request_text = wrk.format(method, path, headers, body)
  statuses = {{}}
  sent = 0
end

function request()
  sent = sent + 1
  return request_text
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent_total, counts = 0, {{}}
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local points = {{}}
  for _, p in ipairs(percentiles) do
    table.insert(points, string.format("[%g, %d]", p, latency:percentile(p)))
  end
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests": %d, "sent": %d, "duration_us": %d, "statuses": {{%s}}, '
      .. '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, '
      .. '"latency_us": [%s]}}\\n',
    summary.requests, sent_total, summary.duration, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(points, ", ")))
end
"""


def lua_string(text: str) -> str:
    """A Lua 5.1 string literal of `text`: printable ASCII as is, every other byte as \\ddd."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def row_request(kind: str) -> tuple[str, str, str, list[str]]:
    """(server, method, path, bodies) of one row: which server, and what each thread sends."""
    automate = automate_json()
    return {
        "bare_ok": ("bare", "GET", BARE_OK_PATH, []),
        "bare_insert": ("bare", "POST", BARE_INSERT_PATH, [automate]),
        "ping": ("product", "GET", PING_PATH, []),
        "gate_automate": ("product", "POST", GATE_PATH, [automate]),
        "gate_case": (
            "product",
            "POST",
            GATE_PATH,
            [json.dumps(case_body(n)) for n in range(CASE_JOURNEYS)],
        ),
    }[kind]


def lua_script(kind: str, api_key: str) -> str:
    _, method, path, bodies = row_request(kind)
    return _LUA.format(
        method=lua_string(method),
        path=lua_string(path),
        api_key=lua_string(api_key),
        bodies=", ".join(lua_string(body) for body in bodies),
        percentiles=", ".join(f"{p:g}" for p in PERCENTILES),
        marker=MARKER,
    )


def wrk_command(wrk: str, script: Path, url: str, *, connections: int, seconds: float) -> list:
    """One thread per connection, so a thread's body is a connection's body."""
    return [
        wrk,
        f"-t{connections}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]


def parse_output(stdout: str, expected_status: int) -> dict:
    """A slice's figures from wrk's output, in the shape the Python client gives them."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if len(lines) != 1:
        raise ValueError(f"wrk printed no {MARKER.strip()} line:\n{stdout[-2000:]}")
    data = json.loads(lines[0][len(MARKER) :])
    statuses = {int(code): n for code, n in data["statuses"].items()}
    socket_errors = sum(data["errors"][name] for name in ("connect", "read", "write", "timeout"))
    if socket_errors:
        statuses[0] = statuses.get(0, 0) + socket_errors  # 0 = no answer, as for the client
    requests = data["requests"]
    # Each percentile point stands for an equal share of the slice's requests.
    weight = requests / len(data["latency_us"]) if data["latency_us"] else 0.0
    return {
        "samples": [(us / 1e6, weight) for _, us in data["latency_us"]] if requests else [],
        "requests": requests + socket_errors,
        "statuses": statuses,
        "unexpected": sum(
            n for code, n in statuses.items() if 200 <= code < 300 and code != expected_status
        ),
        "seconds": data["duration_us"] / 1e6,
        "in_flight": max(0, data["sent"] - requests),
    }


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the wrk runs; gunicorn is reaped last)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class WrkLoad:
    """Runs each slice as one wrk process, from the benchmark's own process."""

    name = "wrk"

    def __init__(self, base_urls: dict[str, str], api_key: str, concurrency: int):
        self.wrk = shutil.which("wrk")
        self.base_urls, self.api_key, self.concurrency = base_urls, api_key, concurrency
        self.directory = tempfile.TemporaryDirectory(prefix="gatebench-wrk-")
        self.scripts: dict[str, Path] = {}

    @staticmethod
    def available() -> bool:
        return shutil.which("wrk") is not None

    def describe(self) -> str:
        version = subprocess.run([self.wrk, "--version"], capture_output=True, text=True)
        first = (version.stdout or version.stderr).splitlines()[0].split(" Copyright")[0]
        return f"{first}, -t{self.concurrency} -c{self.concurrency} (a thread per connection)"

    def cpu(self) -> float:
        return children_cpu()

    def start(self, plan) -> None:  # nothing runs between slices
        pass

    def _script(self, kind: str) -> Path:
        if kind not in self.scripts:
            path = Path(self.directory.name) / f"{kind}.lua"
            path.write_text(lua_script(kind, self.api_key))
            path.chmod(0o600)
            self.scripts[kind] = path
        return self.scripts[kind]

    def run_slice(self, kind: str, seconds: float) -> dict:
        server, _, path, _ = row_request(kind)
        connections = CASE_JOURNEYS if kind == "gate_case" else self.concurrency
        command = wrk_command(
            self.wrk,
            self._script(kind),
            self.base_urls[server] + path,
            connections=connections,
            seconds=seconds,
        )
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
        return parse_output(done.stdout, 202 if kind == "gate_case" else 200)

    def close(self) -> None:
        self.directory.cleanup()
