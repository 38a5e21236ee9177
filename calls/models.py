"""What happened on each call: the route, the turns, the recording, the messages."""

from __future__ import annotations

from django.db import models

from businesses.models import Business


class Call(models.Model):
    class Path(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        RECORDING = "recording", "Recording"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in-progress", "In progress"
        COMPLETED = "completed", "Completed"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        NO_ANSWER = "no-answer", "No answer"
        CANCELED = "canceled", "Canceled"

    sid = models.CharField("Call SID", max_length=64, unique=True)
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="calls")
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    path = models.CharField(max_length=10, choices=Path.choices, default=Path.STREAMING)
    route_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RINGING)
    session_id = models.CharField(max_length=64, blank=True, db_index=True)
    stream_sid = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    end_reason = models.CharField(max_length=80, blank=True)
    transferred = models.BooleanField(default=False)
    cost_estimate = models.DecimalField(max_digits=10, decimal_places=4, default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["business", "started_at"], name="call_business_started")]

    def __str__(self) -> str:
        return f"{self.from_number or 'unknown'} → {self.business} ({self.sid})"


class Turn(models.Model):
    class Speaker(models.TextChoices):
        CALLER = "caller", "Caller"
        ASSISTANT = "assistant", "Zylin"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField(blank=True)
    interrupted = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    asr_ms = models.FloatField(null=True, blank=True)
    llm_first_token_ms = models.FloatField(null=True, blank=True)
    tts_first_audio_ms = models.FloatField(null=True, blank=True)
    voice_to_voice_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["call", "index"]
        constraints = [models.UniqueConstraint(fields=["call", "index"], name="turn_unique_index")]

    def __str__(self) -> str:
        return f"{self.get_speaker_display()}: {self.text[:60]}"


class Intent(models.Model):
    turn = models.OneToOneField(Turn, on_delete=models.CASCADE, related_name="intent")
    name = models.CharField(max_length=40)
    confidence = models.FloatField(default=0)
    slots = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.confidence:.2f})"


class CallEvent(models.Model):
    """Something notable during a call: a fault, a fallback, a barge-in, a transfer."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name


class Recording(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for Twilio"
        DOWNLOADED = "downloaded", "Downloaded"
        TRANSCRIBED = "transcribed", "Transcribed"
        REPLIED = "replied", "Reply written"
        SYNTHESIZED = "synthesized", "Reply spoken"
        SENT = "sent", "Reply sent"
        FAILED = "failed", "Failed"

    sid = models.CharField("Recording SID", max_length=64, unique=True)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recordings")
    url = models.URLField(max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    audio = models.FileField(upload_to="recordings/", blank=True)
    transcript = models.TextField(blank=True)
    reply_text = models.TextField(blank=True)
    reply_audio = models.FileField(upload_to="replies/", blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.sid


class OutboundMessage(models.Model):
    """Every message Zylin sends; the idempotency key makes retries send once."""

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        OUTBOX = "outbox", "In outbox (not sent: no Twilio credentials)"
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="messages")
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WHATSAPP)
    to = models.CharField(max_length=40)
    from_number = models.CharField(max_length=40, blank=True)
    body = models.TextField(blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    content_sid = models.CharField(max_length=64, blank=True)
    content_variables = models.JSONField(default=dict, blank=True)
    provider_sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=20, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to} ({self.status})"
