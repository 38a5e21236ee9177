"""Test settings: the default settings with fast, isolated parts.

The database comes from DATABASE_URL (PostgreSQL in CI). Redis-backed parts
(session store, Celery worker) are exercised by tests that read REDIS_URL
themselves, so the rest of the suite stays independent of one shared Redis.
"""

from .settings import *

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / ".test-media"
