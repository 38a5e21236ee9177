"""Zylin settings: one module, configured from the environment (one URL per service).

With no environment at all Zylin runs on embedded defaults: SQLite, the in-memory
channel layer, the local-memory cache and session store, Celery in eager mode and
the local speech engines. ``DEBUG=0`` switches on production hardening.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from zylin.observability import sentry_init

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
    # Static files (the admin's CSS and JS) from daphne itself: from the app
    # directories with DEBUG on, from `collectstatic`'s STATIC_ROOT with it off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
# One queue name per deployment (or test run) sharing a Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="zylin")
# Periodic work (run one `celery beat`, or one worker with `--beat`).
CELERY_BEAT_SCHEDULE = {
    "holds-release-expired": {"task": "bookings.holds_release_expired", "schedule": 60.0},
}

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
    # Transcription may use another OpenAI-compatible endpoint than chat; empty = openai_base_url.
    "openai_transcribe_base_url": env.str("OPENAI_TRANSCRIBE_BASE_URL", default=""),
    "elevenlabs_voice_id": env.str("ELEVENLABS_VOICE_ID", default="21m00Tcm4TlvDq8ikWAM"),
    "elevenlabs_model": env.str("ELEVENLABS_MODEL", default="eleven_flash_v2_5"),
    "elevenlabs_base_url": env.str("ELEVENLABS_BASE_URL", default=""),
    "resume_window_s": env.int("ZYLIN_RESUME_WINDOW_S", default=120),
    # Where a call goes when its providers keep failing (or the process shuts down): recording | transfer.
    "fallback": env.str("ZYLIN_FALLBACK", default="recording"),
    "max_streaming_calls": env.int("ZYLIN_MAX_STREAMING_CALLS", default=200),
}
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
# Twilio webhook signatures are checked with the auth token. In DEBUG without one, the
# fixed development token below is the key (the call simulator signs with it); an
# unsigned request is refused either way, and with DEBUG off and no token, every one is.
TWILIO_DEV_AUTH_TOKEN = "zylin-dev-twilio-auth-token"
TWILIO_SIGNING_TOKEN = TWILIO_AUTH_TOKEN or (TWILIO_DEV_AUTH_TOKEN if DEBUG else "")
# WhatsApp Content API templates ("HX..."), used outside the 24-hour customer window.
# Reply: {{1}} business name, {{2}} the reply. Booking: {{1}} service, {{2}} day,
# {{3}} time, {{4}} address, {{5}} created|moved|cancelled.
TWILIO_WHATSAPP_REPLY_TEMPLATE_SID = env.str("TWILIO_WHATSAPP_REPLY_TEMPLATE_SID", default="")
TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID = env.str("TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID", default="")
# On SIGTERM, how long live calls may go on before they are handed to the recording path.
ZYLIN_SHUTDOWN_GRACE_S = env.float("ZYLIN_SHUTDOWN_GRACE_S", default=30.0)
# How long a signed voice-note URL handed to Twilio stays valid.
ZYLIN_MEDIA_URL_MAX_AGE_S = env.int("ZYLIN_MEDIA_URL_MAX_AGE_S", default=3600)

# --- Observability ------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# Label Zylin's call metrics with the business slug: only with few businesses.
ZYLIN_METRICS_BUSINESS_LABEL = env.bool("ZYLIN_METRICS_BUSINESS_LABEL", default=False)
# Unit prices (USD) for the per-call cost estimate (calls/costs.py); an unknown
# provider costs nothing. ZYLIN_PRICES_JSON='{"message": {"whatsapp": 0.01}}' overrides top-level keys.
ZYLIN_PRICES = {
    "telephony_per_minute": 0.0085,  # billed per started minute
    "media_stream_per_minute": 0.004,  # streaming path only
    "recording_per_minute": 0.0025,  # recording path only
    "asr_per_audio_minute": {"deepgram": 0.0077, "openai": 0.003, "pocketsphinx": 0, "standin": 0},
    "tts_per_character": {"elevenlabs": 0.00005, "openai": 0.000015, "piper": 0, "espeak": 0, "standin": 0},
    "llm_per_1k_tokens": {
        "openai": {"input": 0.00015, "output": 0.0006},
        "local": {"input": 0, "output": 0},
        "standin": {"input": 0, "output": 0},
    },
    "message": {"whatsapp": 0.005, "sms": 0.0079},
    "llm_prompt_tokens": 700,  # system prompt and tool schemas sent with every agent request
    "chars_per_token": 4,
}
ZYLIN_PRICES.update(env.json("ZYLIN_PRICES_JSON", default={}))

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
# Fixed when settings load (test runners flip DEBUG later): finders with DEBUG on, STATIC_ROOT with it off.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # zylin/observability.py: call_sid on every record, phone numbers masked; LOG_FORMAT=json for shippers.
    "filters": {"call_context": {"()": "zylin.observability.CallContextFilter"}},
    "formatters": {
        "plain": {
            "()": "zylin.observability.MaskingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s call_sid=%(call_sid)s %(message)s",
        },
        "json": {"()": "zylin.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain"),
            "filters": ["call_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# Errors to Sentry when SENTRY_DSN is set, phone numbers and transcripts scrubbed.
sentry_init(
    SENTRY_DSN,
    environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
    release=env.str("SENTRY_RELEASE", default="") or None,
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
)

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
