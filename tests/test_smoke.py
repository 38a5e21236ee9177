"""The project starts on embedded defaults, and the demo seed is idempotent."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bookings.models import Booking
from businesses.models import FAQ, Business, OpeningHours, PhoneNumber, RolloutPolicy, Service

ROOT = Path(__file__).resolve().parent.parent


def test_embedded_defaults_with_no_environment(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "zylin.settings"}
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.VOICE['asr'], s.VOICE['agent'], s.VOICE['tts'])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "pocketsphinx",
        "local",
        "piper",
    ]


def test_production_settings_refuse_missing_secret(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "zylin.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        "ALLOWED_HOSTS": "zylin.example.com",
        "PUBLIC_BASE_URL": "https://zylin.example.com",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_rows(demo_business):
    from django.core.management import call_command

    def snapshot():
        return {
            model.__name__: sorted(map(str, model.objects.values_list()))
            for model in (Business, PhoneNumber, Service, OpeningHours, FAQ, RolloutPolicy, Booking)
        }

    before = snapshot()
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert snapshot() == before
    assert demo_business.services.count() == 3
    assert demo_business.rollout_policy.streaming_percent == 100
    assert not demo_business.opening_hours.filter(weekday=6).exists()
