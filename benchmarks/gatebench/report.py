"""The printed report: the machine, SQL per call, the five rows, the ratios and the row check."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

from .config import KINDS, LABELS, OTHER_CPU_WARNING, TARGETS


def machine_facts(pg_version: str, args, load_before) -> list[tuple[str, str]]:
    import django
    import gunicorn

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    worker_class = f"gthread × {args.threads} threads" if args.threads > 1 else "sync"
    load = " ".join(f"{x:.2f}" for x in load_before)
    return [
        ("machine", f"{os.cpu_count()} CPUs, {cpu}; load average before the run {load}"),
        (
            "software",
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"PostgreSQL {pg_version}, gunicorn {gunicorn.__version__}",
        ),
        (
            "server",
            f"gunicorn {args.workers} workers ({worker_class}), DEBUG=0, "
            f"LOG_LEVEL={args.log_level} and prometheus multiprocess metrics (product), "
            f"127.0.0.1, DB on 127.0.0.1 over TCP",
        ),
        (
            "sealer",
            "the ledger sealer (manage.py seal_ledger, as make serve runs it; its CPU is counted "
            "with gunicorn's)"
            if args.sealer
            else "none (--no-sealer): each case opening seals its own batch",
        ),
        (
            "load",
            f"{args.load_description}; {args.seconds:g} s per endpoint in {args.rounds} rounds",
        ),
    ]


def ratio_of(measured: dict, top: str, bottom: str, rate: str) -> float:
    """Throughput of row `top` over row `bottom`, by `rate` ("median_rps" or "rps")."""
    return measured[top][rate] / measured[bottom][rate] if measured[bottom][rate] else 0.0


def rows_match(rows, expected, in_flight, name) -> bool:
    """Every answered row exists; at most the requests left in flight by wrk add to them."""
    return expected[name] <= rows[name] <= expected[name] + in_flight[name]


def print_report(facts, queries, measured, rows, expected, in_flight) -> None:
    print()
    print("Gate throughput benchmark (benchmarks/gate.py)")
    for label, value in facts:
        print(f"  {label:<9} {value}")
    print()
    print("SQL per call, in-process (django.test.Client + CaptureQueriesContext):")
    labels = {
        "ping": "GET  /api/v1/ping/",
        "gate_automate": "POST /api/v1/gate/ → automate",
        "gate_human": "POST /api/v1/gate/ → person",
        "gate_case": "… → person, one-point journey",
        "gate_idempotent": "… → automate, Idempotency-Key",
    }
    for name, label in labels.items():
        q = queries[name]
        print(
            f"  {label:<31}{q['queries']:>3} queries  {q['ms_per_call']:6.2f} ms per call, "
            f"{q['db_ms_per_call']:5.2f} ms of it in statements"
        )
    for name in ("gate_automate", "gate_human"):
        print(f"  {labels[name]} (mean ms per statement):")
        for number, (sql, ms) in enumerate(
            zip(queries[name]["sql"], queries[name]["per_query_ms"], strict=True), 1
        ):
            timing = f"{ms:5.2f}" if ms is not None else "    –"
            print(f"    {number:>2}. {timing}  {sql}")
    print()
    print("Through gunicorn, driven by the load tool above (errors = non-2xx or no answer):")
    print(
        f"  {'':<31}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'requests':>9}"
        f"   CPU ms per request: gunicorn postgres load"
    )
    for kind in KINDS:
        m = measured[kind]
        print(
            f"  {LABELS[kind]:<31}{m['median_rps']:>7.0f}{m['p50_ms']:>8.1f}{m['p99_ms']:>8.1f}"
            f"{m['errors']:>7}{m['requests']:>9}{'':>23}{m['cpu_ms']['gunicorn']:>8.2f}"
            f"{m['cpu_ms']['postgres']:>9.2f}{m['cpu_ms']['load']:>5.2f}"
        )
    print("  req/s is the median of the slices' rates; each slice, and the rate over all of them:")
    for kind in KINDS:
        m = measured[kind]
        slices = " ".join(f"{rate:.0f}" for rate in m["slice_rps"])
        sided = f"; {m['one_sided']} one-sided" if m["one_sided"] else ""
        print(f"    {LABELS[kind]:<31}{slices}  (all: {m['rps']:.0f}{sided})")
    if any(measured[k]["one_sided"] for k in KINDS):
        print(
            "  one-sided: a slice in which one gunicorn worker got (nearly) all of wrk's "
            "connections and the other stood idle, so the server ran on one interpreter"
        )
    busy = ", ".join(f"{measured[k]['busy_pct']:.0f}%" for k in KINDS)
    other = ", ".join(f"{measured[k]['other_pct']:.0f}%" for k in KINDS)
    print(f"  machine CPU busy during each: {busy}; of it outside these processes: {other}")
    sessions = ", ".join(
        f"{measured[k]['sessions'][0]:.1f} ({measured[k]['sessions'][1]:.1f})" for k in KINDS
    )
    print(
        f"  database sessions running a statement, mean of 20 ms samples (of them waiting on a "
        f"lock): {sessions}"
    )
    worst = max(KINDS, key=lambda k: measured[k]["other_pct"])
    if measured[worst]["other_pct"] > OTHER_CPU_WARNING:
        names = ", ".join(f"{c} {pct:.0f}%" for c, pct in measured[worst]["competitors"].items())
        print(
            f"  WARNING: up to {measured[worst]['other_pct']:.0f}% of the machine's CPU went to "
            f"other work during the run ({names or 'kernel'}): the figures are low and noisy; "
            "rerun on a quiet machine."
        )
    print()
    print("Ratios of throughput in this run, of the slices' medians (the issue's targets):")
    for top, bottom, target in TARGETS:
        ratio = ratio_of(measured, top, bottom, "median_rps")
        overall = ratio_of(measured, top, bottom, "rps")
        cpu = {
            k: measured[k]["cpu_ms"]["gunicorn"] + measured[k]["cpu_ms"]["postgres"]
            for k in (top, bottom)
        }
        verdict = "met" if ratio >= target else "NOT met"
        print(
            f"  {LABELS[top].strip():<30} / {LABELS[bottom].strip():<30} {ratio:5.2f} "
            f"(target >= {target}: {verdict}); over all slices {overall:.2f}; server CPU per "
            f"call {cpu[top]:.2f} vs {cpu[bottom]:.2f} ms"
        )
    checks = [
        f"{rows[name]} {label} (expected {expected[name]}"
        + (f" + up to {in_flight[name]} in flight" if in_flight[name] else "")
        + f": {'ok' if rows_match(rows, expected, in_flight, name) else 'MISMATCH'})"
        for name, label in (
            ("evaluations", "gate evaluations"),
            ("cases", "cases"),
            ("bare_rows", "bare rows"),
        )
    ]
    print(f"  rows written in the whole run: {'; '.join(checks)}")
    print(
        f"  ledger after the run: {rows['events']} events, {rows['events_pending']} pending"
        + (" (NOT all chained)" if rows["events_pending"] else " (all chained)")
    )
    if rows.get("sealer_cpu") is not None and rows["cases"]:
        print(
            f"  ledger sealer: {rows['sealer_cpu'] * 1000:.0f} ms CPU in the whole run, "
            f"{rows['sealer_cpu'] * 1000 / rows['cases']:.2f} ms per case opened "
            "(counted in the gunicorn column)"
        )
    for kind in KINDS:
        m = measured[kind]
        if m["errors"] or m["unexpected"]:
            print(
                f"  {kind}: {m['errors']} errors, {m['unexpected']} answers with the wrong route; "
                f"HTTP statuses {m['statuses']} (0 = no answer)"
            )
