"""A gunicorn config that profiles each worker's CPU with cProfile (for diagnosis, never in the
product's settings). Use sync workers, whose requests run on the worker's main thread:

    GATEBENCH_PROFILE_DIR=/tmp/prof .venv/bin/gunicorn hitl_project.wsgi:application \\
        -c benchmarks/gatebench/gunicorn_profile.py --workers 1 --bind 127.0.0.1:8620

then drive it (wrk, benchmarks/gatebench/load_wrk.py's scripts), stop it with SIGTERM and read
$GATEBENCH_PROFILE_DIR/worker-<pid>.prof with pstats. The clock is the process's CPU time, so
waits for PostgreSQL and for the next request do not count.
"""

import cProfile
import os
import time
from pathlib import Path

_profiles: dict[int, cProfile.Profile] = {}


def post_fork(server, worker):
    profile = cProfile.Profile(time.process_time)
    _profiles[os.getpid()] = profile
    profile.enable()


def worker_exit(server, worker):
    profile = _profiles.pop(os.getpid(), None)
    if profile is not None:
        profile.disable()
        directory = Path(os.environ.get("GATEBENCH_PROFILE_DIR", "."))
        profile.dump_stats(directory / f"worker-{os.getpid()}.prof")
