"""Zylin settings: one module, configured from the environment (one URL per service).

With no environment at all Zylin runs on embedded defaults: SQLite, the in-memory
channel layer, the local-memory cache and session store, Celery in eager mode and
the local speech engines. ``DEBUG=0`` switches on production hardening.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "zylin-dev-only-secret-key-not-for-production-use-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else _DEV_SECRET_KEY)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

# The https origin Twilio reaches (webhooks and the wss:// media URL are built from it).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "channels",
    "businesses",
    "bookings",
    "calls",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "zylin.urls"
ASGI_APPLICATION = "zylin.asgi.application"
WSGI_APPLICATION = "zylin.wsgi.application"

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

# --- Database -------------------------------------------------------------
_db = env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'zylin.sqlite3'}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so two writers racing for
    # one booking slot are serialized instead of both reading "free".
    _db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    _db["ENGINE"] = "django_prometheus.db.backends.postgresql"
    _db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, session store, Celery broker --------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "zylin"

# --- Vendors (keys from the environment only) -------------------------------
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
DEEPGRAM_API_KEY = env.str("DEEPGRAM_API_KEY", default="")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
ELEVENLABS_API_KEY = env.str("ELEVENLABS_API_KEY", default="")

# Provider knobs; calls/wiring.py turns this block into frozen dataclasses.
VOICE = {
    "asr": env.str("ZYLIN_ASR", default="deepgram" if DEEPGRAM_API_KEY else "pocketsphinx"),
    "agent": env.str("ZYLIN_AGENT", default="openai" if OPENAI_API_KEY else "local"),
    "tts": env.str("ZYLIN_TTS", default="elevenlabs" if ELEVENLABS_API_KEY else "piper"),
    "standin_latency_ms": env.float("ZYLIN_STANDIN_LATENCY_MS", default=0.0),
    "standin_clip": env.str("ZYLIN_STANDIN_CLIP", default=""),
    "deepgram_model": env.str("DEEPGRAM_MODEL", default="nova-3"),
    "deepgram_url": env.str("DEEPGRAM_URL", default=""),
    "openai_model": env.str("OPENAI_MODEL", default="gpt-4o-mini"),
    "openai_base_url": env.str("OPENAI_BASE_URL", default=""),
    "openai_transcribe_model": env.str("OPENAI_TRANSCRIBE_MODEL", default="gpt-4o-mini-transcribe"),
    "elevenlabs_voice_id": env.str("ELEVENLABS_VOICE_ID", default="21m00Tcm4TlvDq8ikWAM"),
    "elevenlabs_model": env.str("ELEVENLABS_MODEL", default="eleven_flash_v2_5"),
    "elevenlabs_base_url": env.str("ELEVENLABS_BASE_URL", default=""),
    "resume_window_s": env.int("ZYLIN_RESUME_WINDOW_S", default=120),
    "max_streaming_calls": env.int("ZYLIN_MAX_STREAMING_CALLS", default=200),
}
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")

# --- Auth, i18n, static ------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# --- Production hardening (DEBUG=0) ---------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Prometheus scrapes over the private network, not through the TLS proxy.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if not PUBLIC_BASE_URL.startswith("https://"):
        raise ImproperlyConfigured("PUBLIC_BASE_URL must be an https:// URL when DEBUG is off.")

