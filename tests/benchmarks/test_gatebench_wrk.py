"""benchmarks/gatebench drives the gate with wrk: the Lua script and command line it builds, and
how it reads wrk's output. No load is run here: the output parsed below was captured from a
real `wrk -t8 -c8 -d2s --latency` run of the case-opening script against a local stub server,
which saw each of the eight connections send its own journey."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))

from gatebench.config import AUTOMATE_BODY, CASE_JOURNEYS  # noqa: E402
from gatebench.drive import weighted_percentile  # noqa: E402
from gatebench.load_wrk import (  # noqa: E402
    MARKER,
    lua_script,
    lua_string,
    parse_output,
    wrk_command,
)
from gatebench.report import rows_match  # noqa: E402

CAPTURED = (Path(__file__).parent / "wrk_gate_case_output.txt").read_text()


def lua_bodies(script: str) -> list[str]:
    """The bodies table of a generated script, decoded from Lua's \\ddd escapes."""
    table = re.search(r"^local bodies = \{(.*)\}  --", script, re.MULTILINE).group(1)
    literals = re.findall(r'"((?:[^"\\]|\\\d{3})*)"', table)
    return [re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), text) for text in literals]


def test_lua_strings_escape_quotes_backslashes_and_non_ascii():
    assert lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert lua_string("é") == '"\\195\\169"'  # UTF-8 bytes
    assert lua_string("plain-text 1.0") == '"plain-text 1.0"'


@pytest.mark.parametrize(
    ("kind", "method", "path", "journeys"),
    [
        ("bare_ok", "GET", "/bare/ok/", []),
        ("bare_insert", "POST", "/bare/insert/", ["refunds"]),
        ("ping", "GET", "/api/v1/ping/", []),
        ("gate_automate", "POST", "/api/v1/gate/", ["refunds"]),
        ("gate_case", "POST", "/api/v1/gate/", [f"cases-{n}" for n in range(1, 9)]),
    ],
)
def test_each_row_sends_its_method_path_key_and_bodies(kind, method, path, journeys):
    script = lua_script(kind, "hitl_key.secret")
    assert f'local method = "{method}"' in script
    assert f'local path = "{path}"' in script
    assert 'local api_key = "hitl_key.secret"' in script
    bodies = [json.loads(body) for body in lua_bodies(script)]
    assert [body["journey"] for body in bodies] == journeys
    # No Idempotency-Key: the gate would replay a repeated key's answer instead of working.
    assert "Idempotency" not in script


def test_the_automating_body_is_the_benchmarks_body():
    (body,) = lua_bodies(lua_script("gate_automate", "k"))
    assert json.loads(body) == AUTOMATE_BODY


def test_case_opening_threads_each_take_their_own_journey():
    script = lua_script("gate_case", "k")
    assert len(lua_bodies(script)) == CASE_JOURNEYS
    assert 'thread:set("number", #threads)' in script
    assert "bodies[(number - 1) % #bodies + 1]" in script


def test_the_command_line_gives_each_connection_its_own_thread(tmp_path):
    script = tmp_path / "gate_case.lua"
    command = wrk_command(
        "/usr/bin/wrk", script, "http://127.0.0.1:8600/api/v1/gate/", connections=8, seconds=5
    )
    assert command == [
        "/usr/bin/wrk",
        "-t8",
        "-c8",
        "-d5s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        "http://127.0.0.1:8600/api/v1/gate/",
    ]
    # wrk takes whole seconds; a slice is never shorter than one.
    assert "-d1s" in wrk_command("wrk", script, "u", connections=8, seconds=0.3)


def test_a_captured_wrk_output_is_read():
    out = parse_output(CAPTURED, expected_status=202)
    assert out["requests"] == 372
    assert out["statuses"] == {202: 372}
    assert out["unexpected"] == 0
    assert out["in_flight"] == 381 - 372  # sent, never answered before the slice ended
    assert out["seconds"] == pytest.approx(2.098641)
    assert sum(weight for _, weight in out["samples"]) == pytest.approx(372)
    # wrk's own summary above the JSON line says p50 44.04 ms and p99 51.14 ms.
    assert weighted_percentile(out["samples"], 50) * 1000 == pytest.approx(44.04, abs=0.5)
    assert weighted_percentile(out["samples"], 99) * 1000 == pytest.approx(51.14, abs=1.0)


def test_the_wrong_route_and_socket_errors_are_counted():
    line = CAPTURED.splitlines()[-1]
    data = json.loads(line[len(MARKER) :])
    data["statuses"] = {"200": 300, "202": 2, "500": 1}
    data["requests"] = 303
    data["errors"].update(connect=1, timeout=2, status=1)
    out = parse_output(MARKER + json.dumps(data), expected_status=200)
    assert out["unexpected"] == 2  # 202: a person, where the body should automate
    assert out["statuses"] == {200: 300, 202: 2, 500: 1, 0: 3}  # 0 = no answer
    assert out["requests"] == 306


def test_an_output_without_the_summary_line_is_refused():
    with pytest.raises(ValueError, match="GATEBENCH-JSON"):
        parse_output("unable to connect to 127.0.0.1:8600 Connection refused\n", 200)


def test_weighted_percentiles_are_exact_for_single_requests():
    samples = [(value / 1000, 1.0) for value in range(1, 101)]
    assert weighted_percentile(samples, 50) == pytest.approx(0.050)
    assert weighted_percentile(samples, 99) == pytest.approx(0.099)
    assert weighted_percentile([], 50) == 0.0


@pytest.mark.parametrize(("rows", "ok"), [(100, True), (108, True), (109, False), (99, False)])
def test_rows_written_may_exceed_the_answers_only_by_what_was_in_flight(rows, ok):
    assert rows_match({"x": rows}, {"x": 100}, {"x": 8}, "x") is ok


@pytest.mark.parametrize(
    ("script", "option"),
    [
        ("gate.py", "--load {auto,wrk,python}"),
        # These two use the package's database and environment helpers.
        ("scale_out.py", "--gate-calls"),
        ("metrics_overhead.py", "--calls"),
    ],
)
def test_the_scripts_using_the_package_still_start(script, option):
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "benchmarks" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert option in done.stdout
