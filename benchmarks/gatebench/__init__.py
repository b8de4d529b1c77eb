"""The gate benchmark (benchmarks/gate.py is its entry point). What a run does, in order:

1. creates a throw-away PostgreSQL database (default hitl_bench on 127.0.0.1:5432), migrates it
   (database.py);
2. seeds an AI system, two authority levels, a refunds journey with five judgement points, eight
   one-point journeys for the case-opening row and an API key, through the real services
   (in_process.py);
3. in-process (django.test.Client + CaptureQueriesContext), counts the SQL queries of one call
   to GET /api/v1/ping/, a gate call that automates and gate calls routed to a person, and
   times each query (in_process.py);
4. starts two gunicorns on 127.0.0.1 with the same options (DEBUG off): the product, and the
   bare endpoints of benchmarks/bare (servers.py), and drives them with wrk when it is on PATH
   (load_wrk.py), else with the Python client in its own process (load_python.py): a warm-up,
   then the five rows (bare view, bare insert, ping, gate that automates, gate that opens a case
   with 8 callers on 8 journeys) interleaved in --rounds slices so background load hits all
   alike (drive.py), while it samples CPU per process group and the database's sessions and
   lock waits (sampling.py);
5. prints requests/s, p50/p99 latency, errors and CPU per request for each row and the ratios of
   issue #17's targets, checks every row the answers promise was written (report.py), stops
   both servers and drops the database (cli.py).
"""
