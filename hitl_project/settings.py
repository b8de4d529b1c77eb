"""Settings for HITL Oversight, read from environment variables.

Every variable has a default that is safe for a local checkout; README.md lists them. A
production deployment sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL at least.
"""

import os
from pathlib import Path

from hitl_project.env import (
    database_config,
    env_bool,
    env_int,
    env_list,
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
    "audit",
    "literacy",
    "oversight",
]

MIDDLEWARE = [
    # Outermost: a request id on every response, and JSON for every error on /api/ paths.
    "oversight.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the acting user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # G2: a lost database connection answers 503 + Retry-After, not a 500 page (last, so it
    # sees a view's exception first; the API has its own JSON answer in oversight.api.errors).
    "hitl_project.database_unavailable.DatabaseUnavailableMiddleware",
]

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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
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

STATIC_URL = "static/"
STATIC_ROOT = Path(ENV.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT", BASE_DIR / "media"))

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
}

# Admins see the acting user on every history row; history rows are evidence too.
SIMPLE_HISTORY_REVERT_DISABLED = True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": ENV.get("LOG_LEVEL", "INFO")},
    # WeasyPrint narrates every layout step and fontTools every font subset at INFO: only their
    # warnings (a refused URL, a missing font) belong in the product's log.
    "loggers": {
        name: {"level": "WARNING"} for name in ("weasyprint", "weasyprint.progress", "fontTools")
    },
}

# API input and request ids (oversight.json_guard, oversight.api.middleware).
# JSON read by the API and the admin's decision form: nesting levels and object keys in all.
INPUT_JSON_MAX_DEPTH = env_int(ENV, "INPUT_JSON_MAX_DEPTH", 32)
INPUT_JSON_MAX_KEYS = env_int(ENV, "INPUT_JSON_MAX_KEYS", 1000)
# Refused API requests for another AI system's objects: at most one `security.refused` ledger
# event per key per this many seconds; the next event counts the refusals in between.
API_REFUSAL_EVENT_SECONDS = env_int(ENV, "API_REFUSAL_EVENT_SECONDS", 60)
# Every log line names the request it was written for ("-" outside one): X-Request-ID.
LOGGING["filters"] = {"request_id": {"()": "oversight.api.middleware.RequestIdLogFilter"}}
LOGGING["formatters"] = {
    "with_request_id": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"}
}
LOGGING["handlers"]["console"].update(filters=["request_id"], formatter="with_request_id")

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

# G4 compliance (oversight.services.report_verification): the largest upload the admin's
# "Verify a PDF" page reads. Issued reports are far smaller; anything larger is refused unread.
REPORT_VERIFY_MAX_BYTES = env_int(ENV, "REPORT_VERIFY_MAX_BYTES", 20 * 1024 * 1024)
