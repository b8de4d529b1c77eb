"""benchmarks/gatebench compares rows by the median of their slices' rates, and names a slice
in which one gunicorn worker did all the work while the other stood idle."""

import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))

from gatebench.config import KINDS, server_of  # noqa: E402
from gatebench.drive import _summarise, one_sided  # noqa: E402
from gatebench.report import ratio_of  # noqa: E402


@pytest.mark.parametrize(
    ("worker_seconds", "expected"),
    [
        ([0.0, 5.4], True),  # every connection on one worker
        ([0.5, 5.4], True),
        ([0.9, 5.4], False),  # 1/6 of the busiest: both worked
        ([4.1, 4.3], False),
        ([3.0], False),  # one worker: nothing to compare
        ([0.0, 0.0], False),  # nothing ran
    ],
)
def test_a_slice_is_one_sided_when_a_worker_stood_nearly_idle(worker_seconds, expected):
    assert one_sided(worker_seconds) is expected


def summary(slice_rps: list[float], seconds: float = 6.0) -> dict:
    ok = int(sum(rate * seconds for rate in slice_rps))
    total = {
        "samples": [(0.001, 1.0)],
        "requests": ok,
        "statuses": {200: ok},
        "unexpected": 0,
        "seconds": seconds * len(slice_rps),
        "cpu": {"gunicorn": 1.0, "postgres": 0.1, "load": 0.1, "machine_busy": 2.0},
        "slice_rps": slice_rps,
        "one_sided": 1,
    }
    total["cpu"]["machine_total"] = 4.0
    return _summarise(total)


def test_rows_are_compared_by_the_median_of_their_slices_and_the_total_is_kept():
    bare = summary([3000, 3100, 3050, 2950, 3000])
    ping = summary([1600, 1550, 800, 1580, 1620])  # one slice on one worker
    measured = {"bare_ok": bare, "ping": ping}
    assert ping["median_rps"] == 1580
    assert ping["rps"] == pytest.approx(1430)
    assert ping["one_sided"] == 1
    assert ratio_of(measured, "ping", "bare_ok", "median_rps") == pytest.approx(1580 / 3000)
    assert ratio_of(measured, "ping", "bare_ok", "rps") == pytest.approx(1430 / 3020)


def test_each_row_names_the_server_that_answers_it():
    assert {kind: server_of(kind) for kind in KINDS} == {
        "bare_ok": "bare",
        "bare_insert": "bare",
        "ping": "product",
        "gate_automate": "product",
        "gate_case": "product",
    }
