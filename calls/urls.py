"""Twilio-facing HTTP routes: webhooks, and the signed voice-note links Twilio fetches."""

from django.urls import path

from calls import media_urls, webhooks

urlpatterns = [
    path("twilio/voice", webhooks.voice_webhook, name="twilio-voice"),
    path("twilio/route", webhooks.route_webhook, name="twilio-route"),
    path("twilio/status", webhooks.call_status_webhook, name="twilio-status"),
    path("twilio/stream-status", webhooks.stream_status_webhook, name="twilio-stream-status"),
    path("twilio/recording", webhooks.recording_status_webhook, name="twilio-recording"),
    path("twilio/recording-done", webhooks.recording_done_webhook, name="twilio-recording-done"),
    path("twilio/dial-done", webhooks.dial_done_webhook, name="twilio-dial-done"),
    path("twilio/message-status", webhooks.message_status_webhook, name="twilio-message-status"),
    path("twilio/whatsapp", webhooks.whatsapp_inbound_webhook, name="twilio-whatsapp"),
    path("voice-notes/<str:token>.ogg", media_urls.reply_audio_view, name="reply-audio"),
]
