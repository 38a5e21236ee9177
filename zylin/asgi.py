"""ASGI entry point: HTTP through Django, the Twilio media socket through Channels.

The media socket sits outside ``AllowedHostsOriginValidator``: Twilio sends no
Origin header, and the consumer checks Twilio's signature itself before it
builds anything. Under daphne, SIGTERM drains the process gracefully
(``calls.shutdown``): no new calls, live ones finish or go to recording.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zylin.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from calls import gc_tuning, shutdown  # noqa: E402
from calls.ws_urls import websocket_urlpatterns  # noqa: E402

shutdown.install(grace_s=settings.ZYLIN_SHUTDOWN_GRACE_S)
# Everything loaded so far lives as long as the process: keep the collector's pauses short.
gc_tuning.tune_for_live_audio()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
