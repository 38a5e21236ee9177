"""WebSocket routes (Twilio Media Streams)."""


websocket_urlpatterns: list = []
