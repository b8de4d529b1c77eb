"""Settings for HITL Oversight, read from environment variables.

Every variable has a default that is safe for a local checkout; README.md lists them. A
production deployment sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL at least.
"""

import datetime
import os
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from hitl_project.env import (
    database_config,
    env_bool,
    env_int,
    env_list,
    log_format,
    logging_config,
    secret_key,
    task_queue_config,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ

DEBUG = env_bool(ENV, "DEBUG", default=True)
SECRET_KEY = secret_key(ENV, debug=DEBUG)
ALLOWED_HOSTS = env_list(ENV, "ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list(ENV, "CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Before django.contrib.auth: its createsuperuser explains two-factor enrolment.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "guardian",
    "django_q",
    "pgtrigger",
    "import_export",
    # Security edge (issue #13): login lock-out, two-factor sign-in, Content-Security-Policy.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # Operations (issue #20): /metrics (django-prometheus), health checks, request log.
    "django_prometheus",
    "audit",
    "literacy",
    "oversight",
    "operations",
]

# The middleware from hitl_project.site_middleware is the named one, skipped on the API's
# /api/v1/ paths (key-authenticated JSON: no session, sign-in, messages or history user). CSRF
# stays by name (`check --deploy` looks for it); the API's views are exempt from it anyway.
MIDDLEWARE = [
    # Prometheus request metrics (django-prometheus): the first and the last middleware, so
    # they time everything in between.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Outermost: a request id on every response, and JSON for every error on /api/ paths.
    "oversight.api.middleware.RequestIdMiddleware",
    # One log line per request, with the request id above (operations/request_log.py).
    "operations.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below): django-csp's
    # middleware, with a policy that needs no nonce built once, not on every response.
    "hitl_project.content_security_policy.CSPMiddleware",
    "hitl_project.site_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "hitl_project.site_middleware.AuthenticationMiddleware",
    # Two-factor sign-in: django-otp marks a verified session; ours sends staff without one
    # to the second step (or to enrolment) when OTP_REQUIRED is on.
    "hitl_project.site_middleware.OTPMiddleware",
    "hitl_project.site_middleware.TwoFactorRequiredMiddleware",
    "hitl_project.site_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the acting user on every history row written during a request.
    "hitl_project.site_middleware.HistoryRequestMiddleware",
    # Login lock-out (django-axes): after the others, so it sees the login view's answer.
    "axes.middleware.AxesMiddleware",
    # G2: a lost database connection answers 503 + Retry-After, not a 500 page (last, so it
    # sees a view's exception first; the API has its own JSON answer in oversight.api.errors).
    "hitl_project.database_unavailable.DatabaseUnavailableMiddleware",
    # django-prometheus's after-middleware, its labelled series looked up once per label set.
    "hitl_project.prometheus_middleware.PrometheusAfterMiddleware",
]

if not DEBUG:
    # Collected static files, served by the web process itself (compressed, cached for ever
    # under hashed names): no separate file server needed. With DEBUG on, runserver serves
    # them from the apps' folders and no collectstatic is needed.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "hitl_project.urls"
WSGI_APPLICATION = "hitl_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_config(ENV, base_dir=BASE_DIR)}
# Database metrics (django-prometheus's: queries, errors, connections, query time by alias),
# counted by Django's own backends with counting cursors (hitl_project.counting_backends: the
# same metrics as django-prometheus's backends, each series looked up once, not per statement).
# On by default with DEBUG off (benchmarks/metrics_overhead.py, docs/operations.md);
# METRICS_DATABASE=0 keeps Django's backends, as the tests do (DEBUG being on by default).
METRICS_DATABASE = env_bool(ENV, "METRICS_DATABASE", default=not DEBUG)
if METRICS_DATABASE:
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django.db.backends.", "hitl_project.counting_backends."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user name or address before any password is checked.
    "audit.services.sign_in.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = ENV.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Datetimes print with their time zone named ("30 Nov 2026, 15:10 UTC"): hitl_project/formats.
FORMAT_MODULE_PATH = ["hitl_project.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(ENV.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT", BASE_DIR / "media"))
# With DEBUG off, WhiteNoise serves the files `collectstatic` gathered into STATIC_ROOT (make
# serve collects them). They keep their names: the PDF reports' URL fetcher finds their CSS by
# name (oversight/reports/fetcher.py), which hashed names would break, so browsers revalidate
# after WhiteNoise's 60 s max-age rather than caching for ever.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Security: strict whenever DEBUG is off; each can be relaxed explicitly (e.g. behind a proxy
# that terminates TLS and already redirects).
SECURE_SSL_REDIRECT = env_bool(ENV, "SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool(ENV, "SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool(ENV, "CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int(ENV, "SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool(ENV, "SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' HSTS preload list binds the whole domain for months: that is the
# operator's decision (SECURE_HSTS_PRELOAD=1), not a default, so its reminder is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env_bool(ENV, "SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and scrapers probe over plain HTTP inside the network: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = ENV.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "oversight@localhost")

Q_CLUSTER = task_queue_config(ENV)

# Encrypts webhook secrets at rest; derived from SECRET_KEY when unset. Changing it (or
# SECRET_KEY without it) makes stored webhook secrets unreadable: rotate them afterwards.
FIELD_ENCRYPTION_KEY = ENV.get("FIELD_ENCRYPTION_KEY", "")

# The REST API for AI systems.
API_MAX_BODY_BYTES = env_int(ENV, "API_MAX_BODY_BYTES", 256 * 1024)
WEBHOOK_MAX_ATTEMPTS = env_int(ENV, "WEBHOOK_MAX_ATTEMPTS", 6)

# Reviewers: how long a claim on a case lasts before it lapses and the case returns to the queue.
CLAIM_LEASE_MINUTES = env_int(ENV, "CLAIM_LEASE_MINUTES", 30)
WEBHOOK_TIMEOUT_SECONDS = env_int(ENV, "WEBHOOK_TIMEOUT_SECONDS", 10)

# G2 "no task lost" (docs/reliability.md): webhook deliveries and report requests are rows first,
# and a sweep every minute re-enqueues those left pending past OUTBOX_GRACE_SECONDS or running
# past their lease. A lease is the longest a live worker can hold a row (the webhook timeout, or
# the task timeout for a report) plus TASK_LEASE_MARGIN_SECONDS. A report request whose worker
# stopped REPORT_MAX_ATTEMPTS times is failed rather than retried for ever.
OUTBOX_GRACE_SECONDS = env_int(ENV, "OUTBOX_GRACE_SECONDS", 120)
TASK_LEASE_MARGIN_SECONDS = env_int(ENV, "TASK_LEASE_MARGIN_SECONDS", 60)
REPORT_MAX_ATTEMPTS = env_int(ENV, "REPORT_MAX_ATTEMPTS", 3)

# Webhook callbacks (oversight/services/callback_policy.py): loopback, private, link-local,
# metadata and other non-public addresses are refused. Hosts or CIDRs listed here are allowed
# anyway, for deployments whose receivers really are internal (e.g. "hooks.internal,10.2.0.0/16").
WEBHOOK_ALLOWED_TARGETS = env_list(ENV, "WEBHOOK_ALLOWED_TARGETS", [])

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["oversight.api.authentication.AISystemKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["oversight.api.authentication.IsAISystem"],
    "DEFAULT_PARSER_CLASSES": ["oversight.api.parsers.GuardedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "oversight.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "HITL Oversight API",
    "DESCRIPTION": "Lets automated systems ask whether an action may proceed without a human.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oversight.api.schema.describe_operations",
    ],
}

# Login lock-out (django-axes; audit/services/sign_in.py). LOGIN_FAILURE_LIMIT failed logins for
# one user name, or from one address, lock further attempts for LOGIN_COOLOFF_MINUTES; each
# attempt while locked starts the wait again. One ledger event per lock-out, none per failure.
# Behind reverse proxies, LOGIN_TRUSTED_PROXY_COUNT says how many append to X-Forwarded-For
# (0: the address is REMOTE_ADDR). Superusers and managers unlock in the admin (Access attempts).
AXES_FAILURE_LIMIT = env_int(ENV, "LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int(ENV, "LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_CLIENT_IP_CALLABLE = "audit.services.sign_in.client_address"
AXES_USERNAME_CALLABLE = "audit.services.sign_in.lockout_username"
LOGIN_TRUSTED_PROXY_COUNT = env_int(ENV, "LOGIN_TRUSTED_PROXY_COUNT", 0)
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the ledger already
AXES_ENABLE_ADMIN = False  # audit/sign_in_admin.py registers its own, with a recorded unlock
AXES_VERBOSE = False  # no start-up banner on every management command

# Two-factor sign-in (django-otp; accounts/). With OTP_REQUIRED, staff must pass a second factor
# (authenticator app or a backup code) after the password; one without a device is sent to
# enrol first. Default on with DEBUG=0, off with DEBUG=1 so the demo runs with no extra step.
OTP_REQUIRED = env_bool(ENV, "OTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = ENV.get("OTP_ISSUER", "HITL Oversight")
# The admin never shows a device's secret or its QR code, not even to superusers: a second factor
# someone else could copy from a screen is no second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Content-Security-Policy (django-csp 4) on every page: scripts and style elements only from our
# own origin or carrying the request's nonce; nothing from other origins, no plugins, no
# framing. Style attributes stay allowed (style-src-attr): Django's admin, simple-history and
# Swagger UI write some, and an attribute can neither run script nor load from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": ENV["CSP_REPORT_URI"]} if ENV.get("CSP_REPORT_URI") else {}),
    }
}

# API schema and Swagger UI (/api/schema/, /api/docs/; hitl_project/api_docs.py): open to
# anyone with API_DOCS_PUBLIC, else only to signed-in staff. Default: open with DEBUG=1.
API_DOCS_PUBLIC = env_bool(ENV, "API_DOCS_PUBLIC", default=DEBUG)

# Admins see the acting user on every history row; history rows are evidence too.
SIMPLE_HISTORY_REVERT_DISABLED = True


# API input and request ids (oversight.json_guard, oversight.api.middleware).
# JSON read by the API and the admin's decision form: nesting levels and object keys in all.
INPUT_JSON_MAX_DEPTH = env_int(ENV, "INPUT_JSON_MAX_DEPTH", 32)
INPUT_JSON_MAX_KEYS = env_int(ENV, "INPUT_JSON_MAX_KEYS", 1000)
# Refused API requests for another AI system's objects: at most one `security.refused` ledger
# event per key per this many seconds; the next event counts the refusals in between.
API_REFUSAL_EVENT_SECONDS = env_int(ENV, "API_REFUSAL_EVENT_SECONDS", 60)
# Logs (operations/request_log.py, docs/operations.md): LOG_FORMAT=json writes one JSON object a
# line (default with DEBUG off), text for people (default with DEBUG on). Every line names the
# request it was written for ("-" outside one): X-Request-ID.
LOG_FORMAT = log_format(ENV, debug=DEBUG)
LOGGING = logging_config(fmt=LOG_FORMAT, level=ENV.get("LOG_LEVEL", "INFO"))

# --- Operations (issue #20): health checks and metrics -----------------------------------------
# /health/ready/ fails when the task cluster's heartbeat (a one-minute schedule) is older than
# this, or when the media folder's file system has less free space than HEALTH_MEDIA_MIN_FREE_MB.
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env_int(ENV, "HEALTH_HEARTBEAT_MAX_AGE_SECONDS", 300)
HEALTH_MEDIA_MIN_FREE_MB = env_int(ENV, "HEALTH_MEDIA_MIN_FREE_MB", 500)
# /metrics answers a request bearing `Authorization: Bearer <METRICS_TOKEN>`, or one from an
# address in METRICS_ALLOWED_NETWORKS (CIDRs, e.g. "127.0.0.1/32,10.0.0.0/8"); anything else
# is refused with 403. Neither set: /metrics is refused to everyone.
METRICS_TOKEN = ENV.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list(ENV, "METRICS_ALLOWED_NETWORKS", [])
# django-prometheus: /metrics is served by operations.metrics.views, not its own URLs.
PROMETHEUS_EXPORT_MIGRATIONS = False

# History is read "as of" a date by reports: index (history_date, object id) together.
SIMPLE_HISTORY_DATE_INDEX = "Composite"

# Retention (`manage.py purge_retention`): how long ledger events and gate evaluations are kept.
# The EU AI Act asks deployers to keep logs at least six months: under 183 days is refused at
# startup (audit.E001). Gate evaluations a case or outcome refers to are kept regardless.
RETENTION_LEDGER_DAYS = env_int(ENV, "RETENTION_LEDGER_DAYS", 730)
RETENTION_GATE_EVALUATIONS_DAYS = env_int(ENV, "RETENTION_GATE_EVALUATIONS_DAYS", 730)

# Training expiry reminders (literacy.tasks.send_training_reminders, daily): how many days
# before a required training expires its holder and their managers are e-mailed, once each.
TRAINING_REMINDER_DAYS = sorted(
    {int(days) for days in env_list(ENV, "TRAINING_REMINDER_DAYS", ["30", "7"])}, reverse=True
)

# Serious incidents (issue #19, G7): the organisation's time zone for reporting deadlines (a
# deadline falls at the local time of day of awareness; empty: TIME_ZONE), and how many hours
# before a deadline the compliance officers and the AI system's managers are e-mailed, once
# each (plus once when it passes). The reminder task runs hourly.
INCIDENT_TIME_ZONE = ENV.get("INCIDENT_TIME_ZONE", "")
INCIDENT_REMINDER_HOURS = sorted(
    {int(hours) for hours in env_list(ENV, "INCIDENT_REMINDER_HOURS", ["72", "24", "4"])},
    reverse=True,
)

# --- Ledger tamper evidence (issue #14, G2): checkpoint signing and the database roles. ---
# The Ed25519 key that signs ledger checkpoints, from a file or the environment, never the
# database (audit/signing.py). With DEBUG on and neither set, one is generated on first use into
# LEDGER_DEV_KEY_FILE (git-ignored, mode 0600); with DEBUG off it is required.
LEDGER_SIGNING_KEY = ENV.get("LEDGER_SIGNING_KEY", "")
LEDGER_SIGNING_KEY_FILE = ENV.get("LEDGER_SIGNING_KEY_FILE", "")
LEDGER_DEV_KEY_FILE = BASE_DIR / "var" / "ledger-signing-key.pem"
# Retired signing keys still trusted for old checkpoints: "key_id:base64,key_id:base64".
LEDGER_PUBLIC_KEYS = env_list(ENV, "LEDGER_PUBLIC_KEYS", [])
# The least-privilege role the web and worker processes connect as (docs/reliability.md);
# `migrate` re-grants it on every new table when set.
DATABASE_APP_ROLE = ENV.get("DATABASE_APP_ROLE", "")

# --- Signed PDF reports (PAdES, issue #15) ---------------------------------------------------
# Every issued report carries a PDF signature made with this key and certificate (PEM files).
# Production sets both files (and the passphrase when the key is encrypted); missing files are
# refused when a report is signed and by `manage.py check` (oversight.E010). With DEBUG on and
# no files set, a self-signed demo certificate is made on first use in REPORT_SIGNING_DEV_DIR.
# Rotation: docs/compliance-guide.md, "Signing certificate".
REPORT_SIGNING_KEY_FILE = ENV.get("REPORT_SIGNING_KEY_FILE", "")
REPORT_SIGNING_CERT_FILE = ENV.get("REPORT_SIGNING_CERT_FILE", "")
REPORT_SIGNING_KEY_PASSPHRASE = ENV.get("REPORT_SIGNING_KEY_PASSPHRASE", "")
REPORT_SIGNING_GENERATE_DEV_CERT = env_bool(ENV, "REPORT_SIGNING_GENERATE_DEV_CERT", default=DEBUG)
REPORT_SIGNING_DEV_DIR = Path(
    ENV.get("REPORT_SIGNING_DEV_DIR", BASE_DIR / "var" / "report-signing")
)

# G4 compliance (oversight.services.report_verification): the largest upload the admin's
# "Verify a PDF" page reads. Issued reports are far smaller; anything larger is refused unread.
REPORT_VERIFY_MAX_BYTES = env_int(ENV, "REPORT_VERIFY_MAX_BYTES", 20 * 1024 * 1024)
