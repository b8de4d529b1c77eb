"""Reading settings from environment variables.

Kept apart from settings.py so the parsing rules (what counts as true, when a missing secret is
fatal) can be tested without reloading Django's settings.
"""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# Used only while DEBUG is on, so a local checkout runs with no configuration at all.
DEVELOPMENT_SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """Read a yes/no variable; anything not clearly yes or no is a configuration error."""
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a yes/no value; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(environ: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(environ: Mapping[str, str], *, debug: bool) -> str:
    """The signing key: required from the environment whenever DEBUG is off."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if debug:
        return DEVELOPMENT_SECRET_KEY
    raise ImproperlyConfigured(
        "SECRET_KEY is not set and DEBUG is off. Set SECRET_KEY to a long random value "
        "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "or set DEBUG=1 for local development."
    )


def database_config(environ: Mapping[str, str], *, base_dir) -> dict:
    """DATABASE_URL, or a SQLite file in the project folder tuned for web + worker at once.

    SQLite needs WAL and IMMEDIATE transactions, or the web process and the django-q2 worker
    fail each other with "database is locked".
    """
    import dj_database_url

    url = environ.get("DATABASE_URL", "").strip()
    if url:
        try:
            config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from None
        # Connection lifetime and health checks (G2 connection loss). A persistent connection
        # (CONN_MAX_AGE seconds, 0 = one per request) saves a connect per request; with health
        # checks on, Django pings a reused connection before a request's first query and opens
        # a new one if the server dropped it (a restart, a failover, pg_terminate_backend), so
        # a connection that died between requests costs one reconnect, not an error.
        config["CONN_MAX_AGE"] = env_int(environ, "DATABASE_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = env_bool(environ, "DATABASE_CONN_HEALTH_CHECKS", True)
    else:
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(base_dir / "db.sqlite3"),
        }
    if config["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL's JIT compiles any query its planner thinks expensive (the dashboard's
        # aggregations over a large period), which cost seconds of compilation for queries that
        # run in a fraction of that: the usual advice for short interactive queries is off.
        # Options given in the URL (?options=-c%20jit%3Don) are kept and, coming later, win.
        options = config.setdefault("OPTIONS", {})
        options["options"] = " ".join(filter(None, ["-c jit=off", options.get("options", "")]))
        # Server-side parameter binding with prepared statements: PostgreSQL plans a statement
        # once per connection instead of on every call (the gate's lookups and INSERT are the
        # same few statements millions of times). Off for PgBouncer in transaction mode, which
        # cannot keep a connection's prepared statements. The figures' aggregations ask for
        # plans made for their period each time (oversight.metrics.analytic_queries).
        if env_bool(environ, "DATABASE_PREPARED_STATEMENTS", True):
            options["server_side_binding"] = True
            options["prepare_threshold"] = 5
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def task_queue_config(environ: Mapping[str, str]) -> dict:
    """django-q2: the ORM broker by default, Redis when REDIS_URL is set.

    The broker is not what keeps work from being lost: webhook deliveries and report requests
    are rows first, and a sweep re-enqueues any left pending or running past their lease
    (docs/reliability.md). These settings keep the broker from doing harm meanwhile.
    """
    timeout = env_int(environ, "Q_TIMEOUT", 300)
    retry = env_int(environ, "Q_RETRY", timeout + 60)
    if retry <= timeout:
        raise ImproperlyConfigured(
            f"Q_RETRY={retry} must exceed Q_TIMEOUT={timeout}: the ORM broker hands a task out "
            "again after `retry` seconds, so a shorter retry runs a slow task twice at once."
        )
    config = {
        "name": "hitl",
        "workers": env_int(environ, "Q_WORKERS", 2),
        # A worker running a task longer than this is killed and replaced. The longest task is
        # a large PDF report; webhook POSTs are bounded by WEBHOOK_TIMEOUT_SECONDS, far below.
        # Report leases are derived from it (a report's lease outlives its worker's timeout).
        "timeout": timeout,
        # ORM broker only (Redis has no receipts): a task not acknowledged `retry` seconds after
        # it was handed out is handed out again. It must exceed `timeout`, or a task still
        # running legitimately is started a second time beside itself.
        "retry": retry,
        # Acknowledge tasks that raised or timed out, so the ORM broker does not hand them out
        # again after `retry`: a failing webhook is retried by its own backoff schedule, a stale
        # report request by the sweep, recurring jobs by their schedule; redelivering as well
        # would run the same work from two sources. A task whose worker died without a result
        # (SIGKILL, out of memory) is never acknowledged: the ORM broker hands it out again
        # after `retry`, Redis loses it, and the sweep finds its row either way.
        "ack_failures": True,
        # The ORM broker stops handing out a task once this many results were saved for it.
        # With ack_failures on, a failed task is acknowledged at its first result, so this is a
        # backstop should ack_failures ever be turned off (0 would mean unlimited).
        "max_attempts": env_int(environ, "Q_MAX_ATTEMPTS", 3),
        # django-q2 keeps the last N successful task results only: it is a debugging aid, not a
        # count of work done (count outbox rows and ledger events instead). Failures are kept.
        "save_limit": env_int(environ, "Q_SAVE_LIMIT", 250),
        "catch_up": False,
        "label": "Background tasks",
    }
    redis_url = environ.get("REDIS_URL", "").strip()
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = "default"
    return config


def log_format(environ: Mapping[str, str], *, debug: bool) -> str:
    """LOG_FORMAT: `json` (one JSON object a line, for log shippers) or `text` (for people).

    Default: text while DEBUG is on (a developer's terminal), json otherwise (production).
    """
    raw = environ.get("LOG_FORMAT", "").strip().lower()
    if not raw:
        return "text" if debug else "json"
    if raw not in {"json", "text"}:
        raise ImproperlyConfigured(f"LOG_FORMAT={raw!r} is not one of: json, text.")
    return raw


def logging_config(*, fmt: str, level: str) -> dict:
    """Django's LOGGING: every record carries the request id; json or text lines on stderr.

    The JSON formatter writes the record's message and an allow-list of the fields a record was
    given through `extra=` (the request log's `status`, `duration_ms`, `ai_system` ...;
    operations/log_format.py), so a request or a payload attached to a record never reaches it.
    """
    formatters = {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "operations.log_format.JsonLineFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "oversight.api.middleware.RequestIdLogFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": fmt,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # WeasyPrint narrates every layout step and fontTools every font subset at INFO: only
        # their warnings (a refused URL, a missing font) belong in the product's log.
        "loggers": {
            name: {"level": "WARNING"}
            for name in ("weasyprint", "weasyprint.progress", "fontTools")
        },
    }
