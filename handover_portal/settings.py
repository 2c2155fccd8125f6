"""Settings, all from the environment (and an optional ``.env`` file); see the README's table.

The defaults run the product on one machine with nothing installed: SQLite and the
filesystem broker under ``.data/``. Production sets ``SECRET_KEY`` and
``FIELD_ENCRYPTION_KEYS`` (the system checks refuse to start without them) and points
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``CACHE_URL`` at real servers.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ

from endpoints.provider_apps import provider_apps
from handover_portal import database

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
# Values already in the environment win over the file.
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# No default: the system check handover_portal.E001 stops the app with the fix when it is unset.
# Read as is: django-environ would treat a value starting with "$" (as Django's generated
# keys may) as a reference to another variable.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys for secrets at rest, comma-separated: the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

HANDOVER_PROVIDERS = env.list(
    "HANDOVER_PROVIDERS",
    default=[
        "endpoints.providers.NoProvider",
        "genesys.providers.GenesysCloudProvider",
        "genesys.providers.GenesysOpenMessagingProvider",
    ],
)

_PROJECT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    # Channel API keys, hashed at rest (endpoints.models.ChannelAPIKey).
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "security",
    "ops",
    "endpoints",
]
# Each provider's app comes from its line in HANDOVER_PROVIDERS (<app>.providers.<Class>).
INSTALLED_APPS = [*_PROJECT_APPS, *provider_apps(HANDOVER_PROVIDERS, installed=_PROJECT_APPS)]

MIDDLEWARE = [
    # First: /health/live, /health/ready and /metrics, answered before the HTTPS redirect and
    # the ALLOWED_HOSTS check (orchestrators probe by pod IP over plain HTTP).
    "ops.middleware.OperationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: the admin's live handover page polls with htmx.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: says why an idle session was logged out.
    "security.sessions.IdleSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "handover_portal.urls"
WSGI_APPLICATION = "handover_portal.wsgi.application"

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

# Persistent connections with health checks (handover_portal.database; README: "Database
# connections").
DATABASES = {
    "default": database.database_config(env, default_url=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
}
# The admin's requests are atomic; the API's are not (endpoints.api.transactions).
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, workers and relay share the file: write-ahead logging lets them read
    # while one writes, and IMMEDIATE transactions queue writers instead of failing them.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that the end-to-end tests' worker processes see it too.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Admin login protection (django-axes): see the README's "Login protection" ---
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "security.backends.CaseInsensitiveModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Per username and client address together: a stranger cannot lock an administrator out
# from elsewhere, and the same administrator from the same address gets AXES_FAILURE_LIMIT.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "security.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "security.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Logs name the lockout parameters only (both masked), not the user agent; no start banner.
AXES_VERBOSE = False
# Reverse proxies in front of the app that append to X-Forwarded-For (0: trust none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Admin sessions end after this many minutes without a request (security.sessions): the
# session lives that long plus the minute between renewals (its REFRESH_SECONDS).
ADMIN_SESSION_IDLE_MINUTES = env.int("ADMIN_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = ADMIN_SESSION_IDLE_MINUTES * 60 + 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and compressed copies made by `collectstatic` (production); in
    # development (DEBUG) the files are served as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: safe by default whenever DEBUG is off (`manage.py check --deploy` is clean).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: the filesystem transport needs no server; Redis or RabbitMQ by URL in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers keep their database connection between tasks (handover_portal.database).
CELERY_DB_REUSE_MAX = database.CELERY_DB_REUSE_MAX
# Nothing is lost when a worker dies mid-task: a task is acknowledged when it has finished
# (every task is safe to run twice), rejected back to the queue if its worker is lost, and a
# worker reserves one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than any task time limit plus the longest countdown (endpoints.handovers.tasks caps
    # countdowns at 600 s), so Redis never hands a running or waiting task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker keeps LOGGING's handlers (which mask secrets) instead of installing its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
HANDOVER_EXPIRY_INTERVAL_SECONDS = env.float("HANDOVER_EXPIRY_INTERVAL_SECONDS", default=60.0)
RELAY_SWEEP_INTERVAL_SECONDS = env.float("RELAY_SWEEP_INTERVAL_SECONDS", default=60.0)
# How often the beat looks for queue updates due (endpoints.handovers.queue_updates).
QUEUE_UPDATE_TICK_SECONDS = env.float("QUEUE_UPDATE_TICK_SECONDS", default=5.0)
# The project's periodic tasks; each provider adds its own (HandoverProvider.periodic_tasks,
# merged when Django starts: endpoints.providers.install_beat_schedule).
CELERY_BEAT_SCHEDULE = {
    "expire-idle-handovers": {
        "task": "endpoints.tasks.handovers_expire_task",
        "schedule": HANDOVER_EXPIRY_INTERVAL_SECONDS,
    },
    "queue-updates": {
        "task": "endpoints.tasks.queue_updates_task",
        "schedule": QUEUE_UPDATE_TICK_SECONDS,
        # A tick not started by the next one is no use any more.
        "options": {"expires": QUEUE_UPDATE_TICK_SECONDS},
    },
    "sweep-relay": {
        "task": "endpoints.tasks.relay_sweep_task",
        "schedule": RELAY_SWEEP_INTERVAL_SECONDS,
    },
    "purge-ended-handovers": {
        "task": "endpoints.retention.handovers_purge_task",
        "schedule": 3600.0,
    },
    "clear-expired-sessions": {
        "task": "endpoints.retention.sessions_clear_task",
        "schedule": 3600.0,
    },
}
# Ended handovers (with their events, outbox and provider rows) are deleted this many days
# after they ended; 0 keeps them forever.
HANDOVER_RETENTION_DAYS = env.int("HANDOVER_RETENTION_DAYS", default=90)

# --- REST API (Django REST framework, drf-spectacular) ---
# Channel API keys first (bot platforms; an anonymous client gets 401 with WWW-Authenticate:
# Api-Key), then DRF tokens (staff tooling), then the admin session for the browsable API.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
# The runtime API (handovers) has its own, higher budget per user: a channel polls events.
API_HANDOVER_THROTTLE_RATE = env.str("API_HANDOVER_THROTTLE_RATE", default="6000/min")
# A verified API key or token is reused this many seconds (0: verified on every request);
# saving or deleting it (a revocation) forgets it at once (endpoints.api.credentials).
API_CREDENTIAL_CACHE_SECONDS = env.int("API_CREDENTIAL_CACHE_SECONDS", default=10)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "endpoints.api.authentication.ChannelAPIKeyAuthentication",
        "endpoints.api.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default; each view names the permission it needs.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's JSONParser, bounded: nesting depth 32, keys of 255 characters (400 beyond).
    "DEFAULT_PARSER_CLASSES": ["security.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "endpoints.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["endpoints.api.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": API_THROTTLE_RATE, "handover": API_HANDOVER_THROTTLE_RATE},
    "EXCEPTION_HANDLER": "endpoints.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "endpoints.api.schema.AutoSchema",
}
# The schema and the docs pages (/api/schema/, /api/docs/, /api/redoc/) need a user or
# channel key that may view endpoints; true opens them to anyone.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Handover Portal API",
    "DESCRIPTION": (
        "Read-only endpoint configuration, and the runtime API of handovers. A bot "
        "platform authenticates with its channel's API key, `Authorization: Api-Key <key>`, "
        "and sees and drives only its channel's endpoints (others answer 404); staff "
        "tooling with a DRF token, `Authorization: Token <key>`. Secrets are never "
        "returned: a connection says only whether it has one (`has_client_secret`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc from our own static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Handovers: the relay, expiry and callbacks ---
HANDOVER_EXPIRY_WARNING_SECONDS = env.int("HANDOVER_EXPIRY_WARNING_SECONDS", default=60)
RELAY_MAX_ATTEMPTS = env.int("RELAY_MAX_ATTEMPTS", default=8)
RELAY_BACKOFF_SECONDS = env.float("RELAY_BACKOFF_SECONDS", default=1.0)
RELAY_BACKOFF_MAX_SECONDS = env.float("RELAY_BACKOFF_MAX_SECONDS", default=60.0)
RELAY_LEASE_SECONDS = env.int("RELAY_LEASE_SECONDS", default=120)
RELAY_SWEEP_BATCH = env.int("RELAY_SWEEP_BATCH", default=500)
RELAY_SWEEP_GRACE_SECONDS = env.float("RELAY_SWEEP_GRACE_SECONDS", default=10.0)
RELAY_DISCONNECT_WINDOW_SECONDS = env.int("RELAY_DISCONNECT_WINDOW_SECONDS", default=86400)
CALLBACK_MAX_ATTEMPTS = env.int("CALLBACK_MAX_ATTEMPTS", default=10)
CALLBACK_BACKOFF_SECONDS = env.float("CALLBACK_BACKOFF_SECONDS", default=2.0)
CALLBACK_BACKOFF_MAX_SECONDS = env.float("CALLBACK_BACKOFF_MAX_SECONDS", default=300.0)
CALLBACK_CONNECT_TIMEOUT = env.float("CALLBACK_CONNECT_TIMEOUT", default=3.05)
CALLBACK_READ_TIMEOUT = env.float("CALLBACK_READ_TIMEOUT", default=10.0)
# Callback URLs reach public addresses over https only; on-premises receivers are listed here:
# IP addresses and CIDR networks they may reach, host names that may use http (README).
CALLBACK_ALLOWED_HOSTS = env.list("CALLBACK_ALLOWED_HOSTS", default=[])

# --- Genesys Cloud ---
# When set, every Genesys call (login, API, event streams) goes to this one base instead of
# the region's hosts: the sandbox (`make run`) and the tests.
GENESYS_API_BASE_URL = env.str("GENESYS_API_BASE_URL", default="")
# Without DEBUG, GENESYS_API_BASE_URL is refused unless this says so (genesys.E002), and must
# then be https:// or http:// to a loopback address (genesys.E003).
GENESYS_API_BASE_URL_ALLOWED = env.bool("GENESYS_API_BASE_URL_ALLOWED", default=False)
GENESYS_HTTP_CONNECT_TIMEOUT = env.float("GENESYS_HTTP_CONNECT_TIMEOUT", default=3.05)
GENESYS_HTTP_READ_TIMEOUT = env.float("GENESYS_HTTP_READ_TIMEOUT", default=10.0)
GENESYS_HTTP_MAX_ATTEMPTS = env.int("GENESYS_HTTP_MAX_ATTEMPTS", default=4)
GENESYS_HTTP_BACKOFF_SECONDS = env.float("GENESYS_HTTP_BACKOFF_SECONDS", default=0.5)
GENESYS_HTTP_BACKOFF_MAX_SECONDS = env.float("GENESYS_HTTP_BACKOFF_MAX_SECONDS", default=8.0)
GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = env.float(
    "GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS", default=30.0
)
# How often the relay looks for handovers to hold or let go (GENESYS_RELAY_POLL_SECONDS: its
# name before the relay served every provider).
RELAY_POLL_SECONDS = env.float(
    "RELAY_POLL_SECONDS", default=env.float("GENESYS_RELAY_POLL_SECONDS", default=1.0)
)
# The relay's threads for blocking work (recording events, Notifications API calls).
RELAY_THREADS = env.int("RELAY_THREADS", default=8)
# A relay replica holds a handover this long without renewing; a dead one's are taken over.
RELAY_OWNERSHIP_LEASE_SECONDS = env.float("RELAY_OWNERSHIP_LEASE_SECONDS", default=15.0)
GENESYS_STREAM_HEARTBEAT_TIMEOUT = env.float("GENESYS_STREAM_HEARTBEAT_TIMEOUT", default=90.0)
GENESYS_STREAM_POLL_SECONDS = env.float("GENESYS_STREAM_POLL_SECONDS", default=5.0)
# Open Messaging: an agent who leaves while another may take over (a transfer between
# queues) ends the handover only if no agent is connected this many seconds later.
GENESYS_TRANSFER_GRACE_SECONDS = env.float("GENESYS_TRANSFER_GRACE_SECONDS", default=10.0)
# The largest Open Messaging webhook body accepted.
GENESYS_WEBHOOK_MAX_BYTES = env.int("GENESYS_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Open Messaging webhook calls whose recording failed this many times are dead-lettered
# (kept for the admin to replay) so the endpoint's later calls go on.
GENESYS_INBOX_MAX_ATTEMPTS = env.int("GENESYS_INBOX_MAX_ATTEMPTS", default=5)
# What a user may attach (by URL) to a message on Open Messaging: the integration's supported
# content profile in Genesys must allow the same types; Genesys takes files up to 25 MB.
GENESYS_OM_ATTACHMENT_TYPES = env.list(
    "GENESYS_OM_ATTACHMENT_TYPES",
    default=["image/jpeg", "image/png", "image/gif", "application/pdf", "text/plain"],
)
GENESYS_OM_ATTACHMENT_MAX_BYTES = env.int(
    "GENESYS_OM_ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024
)
# The relay's Notifications API WebSocket: silence longer than this is a dead channel.
GENESYS_NOTIFICATIONS_HEARTBEAT_TIMEOUT = env.float(
    "GENESYS_NOTIFICATIONS_HEARTBEAT_TIMEOUT", default=90.0
)
# Notifications API channels per OAuth connection and region (1,000 conversations each):
# Genesys allows 20 per OAuth client, shared by every relay replica using that client.
GENESYS_NOTIFICATIONS_MAX_CHANNELS = env.int("GENESYS_NOTIFICATIONS_MAX_CHANNELS", default=20)
# A channel lives 24 h in Genesys: the relay builds a new one (and catches up) after this.
GENESYS_NOTIFICATIONS_CHANNEL_LIFETIME_SECONDS = env.float(
    "GENESYS_NOTIFICATIONS_CHANNEL_LIFETIME_SECONDS", default=23 * 3600.0
)
AGENT_AVAILABILITY_CACHE_SECONDS = env.float("AGENT_AVAILABILITY_CACHE_SECONDS", default=10.0)

# --- Operations: /metrics (README: "Health and metrics") ---
# When set, a scrape must send "Authorization: Bearer <token>"; when unset, only loopback
# clients and these CIDR networks are answered.
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])

# Error reports (the DEBUG page, the admins' e-mail) hide our secrets too: security.error_reports.
DEFAULT_EXCEPTION_REPORTER = "security.error_reports.ExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "security.error_reports.SafeExceptionReporterFilter"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Every handler masks secrets (security.redaction): URL passwords, Authorization values, and
# the Open Messaging webhook token, which is part of its URLs (genesys/open_messaging/urls.py).
LOG_SECRET_PATHS = ["/genesys/open-messaging/"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {
            "()": "security.redaction.RedactSecrets",
            "secret_paths": LOG_SECRET_PATHS,
        },
        "quiet_probes": {"()": "ops.logging.QuietProbes"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        # runserver's access log.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets", "quiet_probes"],
        },
    },
    "loggers": {
        # Replaces Django's own handlers (its console under DEBUG, mail_admins): through ours.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
