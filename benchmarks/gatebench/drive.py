"""The interleaved run: warm-up, then the five rows in rounds; figures per row."""

from __future__ import annotations

import statistics

from .config import CASE_JOURNEYS, KINDS, server_of
from .sampling import CpuMeter, LockSampler, workers_cpu

# A slice is one-sided when a worker of the row's server used less than this share of the CPU
# its busiest worker used: wrk's connections (opened together at the slice's start) nearly all
# went to one worker, whose one interpreter then serves them alone while the machine idles.
ONE_SIDED_SHARE = 0.15


def weighted_percentile(samples: list[tuple[float, float]], pct: float) -> float:
    """The value below which `pct` % of the weight lies; samples are (value, weight).

    The Python client gives every request weight 1 (an exact percentile); wrk gives each
    slice's percentile points an equal share of its requests, so rounds merge approximately.
    """
    ordered = sorted(samples)
    total = sum(weight for _, weight in ordered)
    if not ordered or total <= 0:
        return 0.0
    wanted, seen = pct / 100 * total, 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= wanted - 1e-9:
            return value
    return ordered[-1][0]


def one_sided(worker_seconds: list[float]) -> bool:
    """Whether one worker did (nearly) all of a slice's work while another stood idle."""
    if len(worker_seconds) < 2 or max(worker_seconds) <= 0:
        return False
    return min(worker_seconds) < ONE_SIDED_SHARE * max(worker_seconds)


def drive(
    server_pids: list[int], masters: dict[str, int], load, args
) -> tuple[dict, dict[str, int]]:
    """Warm up, then run the interleaved slices with `load` (WrkLoad or PythonLoad); returns
    the figures per endpoint, how many gate evaluations, cases and bare rows the answers
    promise, and how many more may exist (requests wrk left in flight when a slice ended).
    `masters`: the gunicorn master of each server ("product", "bare"), whose workers' CPU is
    read per slice."""
    slice_seconds = args.seconds / args.rounds
    plan = [(kind, args.warmup) for kind in KINDS]
    plan += [(kind, slice_seconds) for _ in range(args.rounds) for kind in KINDS]
    print(
        f"Load ({load.name}): {args.warmup:g} s warm-up per endpoint, then {args.rounds} rounds "
        f"of {slice_seconds:.3g} s per endpoint, {args.concurrency} connections "
        f"({CASE_JOURNEYS} callers on {CASE_JOURNEYS} journeys for the cases) …",
        flush=True,
    )
    load.start(plan)
    sampler = LockSampler(args.database_url)
    try:
        meter = CpuMeter(server_pids, args.database_url, load.cpu, getattr(load, "pid", None))
        previous = meter.read()
        totals = {
            kind: {
                "samples": [],
                "requests": 0,
                "statuses": {},
                "unexpected": 0,
                "seconds": 0.0,
                "cpu": {},
                "slice_rps": [],
                "one_sided": 0,
            }
            for kind in KINDS
        }
        answered = {"evaluations": 0, "cases": 0, "bare_rows": 0}  # what must have been written
        in_flight = {"evaluations": 0, "cases": 0, "bare_rows": 0}  # what may also have been
        sampler.start()
        for index, (kind, seconds) in enumerate(plan):
            sampler.kind = kind if index >= len(KINDS) else None
            workers_before = workers_cpu(masters[server_of(kind)])
            out = load.run_slice(kind, seconds)
            workers_after = workers_cpu(masters[server_of(kind)])
            reading = meter.read()
            used = {name: reading[name] - previous[name] for name in reading if name in previous}
            previous = reading
            answered_ok = sum(n for code, n in out["statuses"].items() if 200 <= code < 300)
            if kind.startswith("gate"):
                answered["evaluations"] += answered_ok
                answered["cases"] += out["statuses"].get(202, 0)
                in_flight["evaluations"] += out["in_flight"]
                if kind == "gate_case":
                    in_flight["cases"] += out["in_flight"]
            elif kind == "bare_insert":
                answered["bare_rows"] += answered_ok
                in_flight["bare_rows"] += out["in_flight"]
            if index < len(KINDS):  # warm-up: not counted
                continue
            total = totals[kind]
            total["samples"].extend(out["samples"])
            total["requests"] += out["requests"]
            total["unexpected"] += out["unexpected"]
            total["seconds"] += out["seconds"]
            total["slice_rps"].append(answered_ok / out["seconds"])
            worker_seconds = [
                workers_after[pid] - used
                for pid, used in workers_before.items()
                if pid in workers_after
            ]
            sided = one_sided(worker_seconds)
            total["one_sided"] += sided
            for code, n in out["statuses"].items():
                total["statuses"][code] = total["statuses"].get(code, 0) + n
            for name, value in used.items():
                total["cpu"][name] = total["cpu"].get(name, 0.0) + value
            note = "  (one-sided: a worker stood idle)" if sided else ""
            print(f"  {kind:<14} {answered_ok / out['seconds']:6.0f} req/s{note}", flush=True)
    finally:
        sampler.done.set()
        load.close()
    summaries = {kind: _summarise(total) for kind, total in totals.items()}
    for kind, summary in summaries.items():
        summary["sessions"] = sampler.mean(kind)
    return summaries, answered, in_flight


def _summarise(total: dict) -> dict:
    ok = sum(n for code, n in total["statuses"].items() if 200 <= code < 300)
    cpu = total["cpu"]
    per_ok = {name: cpu[name] / max(ok, 1) * 1000 for name in ("gunicorn", "postgres", "load")}
    others = cpu["machine_busy"] - sum(cpu[name] for name in ("gunicorn", "postgres", "load"))
    competitors: dict[str, float] = {}
    for name, used in cpu.items():
        if name.startswith("other:"):
            comm = name.split(":", 2)[2]
            competitors[comm] = competitors.get(comm, 0.0) + used
    return {
        "requests": total["requests"],
        "rps": ok / total["seconds"] if total["seconds"] else 0.0,
        # The issue's measure: the median of the slices' rates (one slice whose connections
        # all went to one worker moves it less than it moves the total).
        "median_rps": statistics.median(total["slice_rps"]) if total["slice_rps"] else 0.0,
        "slice_rps": total["slice_rps"],
        "one_sided": total["one_sided"],
        "p50_ms": weighted_percentile(total["samples"], 50) * 1000,
        "p99_ms": weighted_percentile(total["samples"], 99) * 1000,
        "errors": total["requests"] - ok,
        "unexpected": total["unexpected"],
        "statuses": dict(sorted(total["statuses"].items())),
        "cpu_ms": per_ok,
        "busy_pct": 100 * cpu["machine_busy"] / max(cpu["machine_total"], 1e-9),
        # CPU that none of the three took: kernel work on their behalf, and anything else
        # running on the machine (another test run, say).
        "other_pct": 100 * max(others, 0.0) / max(cpu["machine_total"], 1e-9),
        "competitors": {
            comm: 100 * used / max(cpu["machine_total"], 1e-9)
            for comm, used in sorted(competitors.items(), key=lambda item: -item[1])[:3]
            if used > 0
        },
    }
