"""WebSocket routes (Twilio Media Streams)."""

from django.urls import path

from calls.consumers import MediaStreamConsumer

websocket_urlpatterns: list = [
    path("media-stream", MediaStreamConsumer.as_asgi()),
]
