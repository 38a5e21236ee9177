"""Admin for calls: read-only records, the Call page reads as a conversation."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_safe

from businesses.admin_tenancy import ReadOnlyAdminMixin, TenantAdminMixin, TenantRelatedListFilter

from .admin_audio import AUDIO_FIELDS, audio_response
from .admin_latency import latency_bar, latency_legend
from .models import Call, CallEvent, Intent, OutboundMessage, Recording, Turn

LATENCY_FIELDS = ("asr_ms", "llm_first_token_ms", "tts_first_audio_ms", "voice_to_voice_ms")
LATENCY_LABELS = {
    "asr_ms": "ASR",
    "llm_first_token_ms": "agent",
    "tts_first_audio_ms": "TTS",
    "voice_to_voice_ms": "voice-to-voice",
}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "business", "from_number", "path", "status", "duration_seconds", "turn_count")
    list_filter = ("path", "status", "transferred", ("business", TenantRelatedListFilter))
    list_select_related = ("business",)
    date_hierarchy = "started_at"
    # Explicit: Meta.ordering does not apply to the turn-count GROUP BY query.
    ordering = ("-started_at", "-pk")
    search_fields = ("sid", "from_number", "to_number")
    fieldsets = (
        (None, {"fields": ("business", "from_number", "to_number", "status", "started_at", "duration_seconds")}),
        ("Route", {"fields": ("path", "route_reason", "transferred", "end_reason")}),
        (
            "Twilio",
            {
                "fields": ("sid", "stream_sid", "session_id", "answered_at", "ended_at", "cost_estimate"),
                "classes": ("collapse",),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(turn_total=Count("turns"))

    @admin.display(description="Turns", ordering="turn_total")
    def turn_count(self, obj: Call) -> int:
        return obj.turn_total

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        call = self.get_object(request, object_id)
        if call is not None:
            extra_context = {**(extra_context or {}), **conversation_context(call)}
        return super().change_view(request, object_id, form_url, extra_context)


def conversation_context(call: Call) -> dict[str, Any]:
    """What the Call page shows beneath the call's fields: the conversation and what it led to."""
    turns = list(call.turns.select_related("intent").order_by("index"))
    for turn in turns:
        turn.latencies = [
            (label, round(value))
            for name, label in LATENCY_LABELS.items()
            if (value := getattr(turn, name)) is not None
        ]
        turn.latency_bar = latency_bar(turn)
        # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
        turn.detected_intent = getattr(turn, "intent", None)
    bookings = call.bookings.select_related("service", "customer", "business").order_by("start")
    return {
        "business_timezone": call.business.timezone,
        "conversation": turns,
        "latency_legend": latency_legend() if any(turn.latency_bar for turn in turns) else None,
        "intents": [turn.detected_intent for turn in turns if turn.detected_intent is not None],
        "call_events": list(call.events.all()),
        "call_bookings": list(bookings),
        "call_messages": list(call.messages.all()),
        "call_recordings": list(call.recordings.all()),
    }


@admin.register(Turn)
class TurnAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "call__business"
    list_display = ("call", "index", "speaker", "text_start", "interrupted", *LATENCY_FIELDS)
    list_filter = ("speaker", "interrupted", ("call__business", TenantRelatedListFilter))
    list_select_related = ("call__business",)
    search_fields = ("text", "call__sid")

    @admin.display(description="Text")
    def text_start(self, obj: Turn) -> str:
        return _short(obj.text)


@admin.register(Intent)
class IntentAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "turn__call__business"
    list_display = ("name", "confidence", "turn")
    list_filter = ("name", ("turn__call__business", TenantRelatedListFilter))
    list_select_related = ("turn",)
    search_fields = ("name", "turn__call__sid")


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "call__business"
    list_display = ("created_at", "name", "call")
    list_filter = ("name", ("call__business", TenantRelatedListFilter))
    list_select_related = ("call__business",)
    search_fields = ("name", "call__sid")
    date_hierarchy = "created_at"


# Twilio's URLs are https; say so rather than rely on Django's changing default scheme.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "call__business"
    formfield_overrides = HTTPS_URLS
    list_display = ("created_at", "sid", "call", "state", "duration_seconds")
    list_filter = ("state", ("call__business", TenantRelatedListFilter))
    list_select_related = ("call__business",)
    search_fields = ("sid", "call__sid", "transcript")
    date_hierarchy = "created_at"

    def get_urls(self) -> list[URLPattern]:
        # Before the default URLs, whose "<object_id>/" pattern would take this one.
        audio = path(
            "<int:recording_id>/audio/<str:kind>/",
            self.admin_site.admin_view(self.audio_view),
            name="calls_recording_audio",
        )
        return [audio, *super().get_urls()]

    @method_decorator(require_safe)
    def audio_view(self, request: HttpRequest, recording_id: int, kind: str) -> HttpResponse:
        """The caller's recording (``kind`` "caller") or Zylin's spoken reply ("reply"), for the player.

        Another business's recording is a 404, like a missing one.
        """
        recording = self.get_queryset(request).filter(pk=recording_id).first()
        field = AUDIO_FIELDS.get(kind)
        if recording is None or field is None or not self.has_view_permission(request, recording):
            raise Http404("No such audio.")
        audio = getattr(recording, field)
        if not audio:
            raise Http404("No such audio.")
        return audio_response(request, audio)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    """The outbox: every message Zylin sent or would have sent."""

    formfield_overrides = HTTPS_URLS
    list_display = ("created_at", "to", "channel", "status", "body_start", "business")
    list_filter = ("status", "channel", ("business", TenantRelatedListFilter))
    list_select_related = ("business",)
    search_fields = ("to", "body", "provider_sid")
    date_hierarchy = "created_at"

    @admin.display(description="Body")
    def body_start(self, obj: OutboundMessage) -> str:
        return _short(obj.body)
