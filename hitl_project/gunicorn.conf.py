"""gunicorn settings for HITL Oversight: `make serve`, and the systemd unit in docs/operations.md.

    gunicorn -c hitl_project/gunicorn.conf.py hitl_project.wsgi:application

Every value comes from an environment variable with a default fit for one machine. How to
operate it:

- Graceful reload (new code or settings, no request dropped): `kill -HUP <master pid>` (or
  `systemctl reload hitl-web`). The master starts new workers, then stops the old ones once
  they finished their requests (at most WEB_GRACEFUL_TIMEOUT seconds). Run `migrate` before
  reloading into a release with new migrations (docs/operations.md, "Upgrades").
- Stop: SIGTERM or SIGINT (Ctrl-C): workers finish their requests within
  WEB_GRACEFUL_TIMEOUT, then exit.
- More or fewer workers without a restart: SIGTTIN / SIGTTOU to the master.
"""

import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# Where to listen. Behind a load balancer or reverse proxy on the same host, keep 127.0.0.1.
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")

# Processes x threads = requests served at once. The work is mostly waiting on PostgreSQL, so
# threads (gthread) are cheap; processes use the cores. Two per core is a usual start.
workers = _int("WEB_WORKERS", max(2, 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
threads = _int("WEB_THREADS", 4)

# A request still running after `timeout` seconds has its worker killed and replaced: long
# enough for the slowest page (a dashboard over a year), far below a load balancer's patience.
# PDF reports render in the task cluster, never in a request.
timeout = _int("WEB_TIMEOUT", 60)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection is held: above the load balancer's idle timeout is
# wrong (it would reuse a connection we just closed), so keep it short unless you know yours.
keepalive = _int("WEB_KEEPALIVE", 5)

# Recycle each worker after about this many requests (jitter spreads the restarts), so a slow
# leak in a library never grows for weeks.
max_requests = _int("WEB_MAX_REQUESTS", 5000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 500)

# Addresses allowed to set X-Forwarded-* (the proxy in front); also set SECURE_PROXY_SSL_HEADER.
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Requests are logged by the application, one line each with the request id and who asked
# (operations.request_log, JSON with LOG_FORMAT=json): no second access log here.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")

# No control socket in the home folder: signals (above) are the interface.
control_socket_disable = True

# Prometheus: each worker counts its own requests; prometheus_client's multiprocess mode adds
# them up across workers for /metrics through files in this folder (emptied at start, a dead
# worker's gauges dropped). Set before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hitl-prometheus-")


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _json_logs() -> bool:
    from hitl_project.env import env_bool, log_format

    return log_format(os.environ, debug=env_bool(os.environ, "DEBUG", default=True)) == "json"


# gunicorn's own lines (start, stop, worker timeouts) in the application's format: with
# LOG_FORMAT=json (the default with DEBUG off) one JSON object a line, like the request log.
if _json_logs():
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            }
        },
        # gunicorn merges these keys over its defaults one level deep: both of its handlers
        # are named again here, or its root logger would point at a missing one.
        "handlers": {
            name: {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}
            for name, stream in (
                ("console", "ext://sys.stdout"),
                ("error_console", "ext://sys.stderr"),
            )
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False}
        },
    }
