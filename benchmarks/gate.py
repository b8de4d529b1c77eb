"""Throughput of POST /api/v1/gate/ against the product's ping and two bare DRF endpoints.

    .venv/bin/python benchmarks/gate.py            # or: make bench (runs every benchmark)
    .venv/bin/python benchmarks/gate.py --help     # the options

The benchmark itself lives in benchmarks/gatebench/ (its package docstring says what a run does,
in order); this file is its entry point, so `make bench` and the docs keep working.

Exit status: 0 when the run completed without errors (the targets are reported, not enforced),
1 on errors, 2 when PostgreSQL cannot be reached.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: gatebench, bare

from gatebench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
