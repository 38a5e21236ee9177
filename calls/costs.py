"""What a call costs Zylin, estimated from its usage and configurable unit prices.

Vendors do not report per-call costs in real time, so the estimate is built from
what Zylin stored: call duration (telephony, and the streaming recognizer, which
listens for the whole call), recording lengths (batch transcription), spoken
characters (TTS), an approximate token count of the conversation (LLM) and the
messages sent. Prices live in ``settings.ZYLIN_PRICES``; see the settings for
the keys and their units.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from calls import metrics
from calls.models import Call, OutboundMessage

logger = logging.getLogger(__name__)

CENT_FRACTION = Decimal("0.0001")  # Call.cost_estimate has four decimal places
# Message statuses a vendor bills for: not the local outbox, not a message that failed to send.
BILLED_MESSAGE_STATUSES = frozenset({"queued", "sent", "delivered", "read", "undelivered"})


@dataclass(frozen=True)
class CallUsage:
    """What one call used, in the units vendors bill."""

    path: str
    call_seconds: float
    asr_provider: str
    asr_audio_seconds: float
    tts_provider: str
    tts_characters: int
    llm_provider: str
    llm_input_tokens: int
    llm_output_tokens: int
    recorded_seconds: float = 0.0
    messages: Mapping[str, int] = field(default_factory=dict)  # channel -> messages billed


@dataclass(frozen=True)
class CostBreakdown:
    telephony: Decimal
    asr: Decimal
    tts: Decimal
    llm: Decimal
    messages: Decimal

    @property
    def total(self) -> Decimal:
        return (self.telephony + self.asr + self.tts + self.llm + self.messages).quantize(CENT_FRACTION)


def _price(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _provider_price(table: Mapping[str, Any], provider: str, what: str) -> Any:
    if provider not in table:
        logger.warning("No %s price for provider %r; counting it as free", what, provider)
        return 0
    return table[provider]


def tokens_estimate(text: str, *, chars_per_token: float) -> int:
    """Approximate token count of ``text`` (LLM tokenizers average about four characters)."""
    return math.ceil(len(text) / chars_per_token) if text else 0


def llm_tokens_estimate(
    turns: Sequence[tuple[str, str]], *, prompt_tokens: int, chars_per_token: float
) -> tuple[int, int]:
    """Input and output tokens of a conversation given as (speaker, text) pairs.

    Every assistant reply is one agent request that re-sends the prompt and the
    whole history before it; its own text is the output.
    """
    input_tokens = output_tokens = history_tokens = 0
    for speaker, text in turns:
        tokens = tokens_estimate(text, chars_per_token=chars_per_token)
        if speaker == "assistant" and history_tokens:
            input_tokens += prompt_tokens + history_tokens
            output_tokens += tokens
        history_tokens += tokens
    return input_tokens, output_tokens


def cost_estimate(usage: CallUsage, prices: Mapping[str, Any]) -> CostBreakdown:
    """The estimated cost of one call (pure: usage and a price table in, dollars out)."""
    started_minutes = Decimal(math.ceil(usage.call_seconds / 60)) if usage.call_seconds > 0 else Decimal(0)
    telephony = started_minutes * _price(prices.get("telephony_per_minute"))
    if usage.path == Call.Path.STREAMING:
        telephony += started_minutes * _price(prices.get("media_stream_per_minute"))
    telephony += Decimal(str(usage.recorded_seconds)) * _price(prices.get("recording_per_minute")) / 60

    asr_rate = _provider_price(prices.get("asr_per_audio_minute", {}), usage.asr_provider, "ASR")
    asr = Decimal(str(usage.asr_audio_seconds)) * _price(asr_rate) / 60

    tts_rate = _provider_price(prices.get("tts_per_character", {}), usage.tts_provider, "TTS")
    tts = usage.tts_characters * _price(tts_rate)

    llm_rates = _provider_price(prices.get("llm_per_1k_tokens", {}), usage.llm_provider, "LLM") or {}
    llm = (
        usage.llm_input_tokens * _price(llm_rates.get("input"))
        + usage.llm_output_tokens * _price(llm_rates.get("output"))
    ) / 1000

    message_prices = prices.get("message", {})
    messages = Decimal(0)
    for channel, count in usage.messages.items():
        messages += count * _price(_provider_price(message_prices, channel, "message"))
    return CostBreakdown(telephony=telephony, asr=asr, tts=tts, llm=llm, messages=messages)


def _call_seconds(call: Call) -> float:
    if call.duration_seconds is not None:
        return float(call.duration_seconds)
    if call.ended_at and call.started_at:
        return max((call.ended_at - call.started_at).total_seconds(), 0.0)
    return 0.0


def _batch_asr_provider() -> str:
    # Mirrors calls.wiring.batch_stt_build: OpenAI with a key, else the local engine.
    return "openai" if settings.OPENAI_API_KEY else "pocketsphinx"


def call_usage_collect(call: Call, *, prices: Mapping[str, Any] | None = None) -> CallUsage:
    """Read a call's usage from its turns, recordings and messages."""
    prices = settings.ZYLIN_PRICES if prices is None else prices
    voice = settings.VOICE
    chars_per_token = float(prices.get("chars_per_token", 4))
    prompt_tokens = int(prices.get("llm_prompt_tokens", 0))

    conversation = [(turn.speaker, turn.text) for turn in call.turns.order_by("index")]
    recordings = list(call.recordings.all())
    for recording in recordings:
        # Each recording is one caller message answered by one agent reply.
        conversation += [("caller", recording.transcript), ("assistant", recording.reply_text)]
    input_tokens, output_tokens = llm_tokens_estimate(
        conversation, prompt_tokens=prompt_tokens, chars_per_token=chars_per_token
    )

    call_seconds = _call_seconds(call)
    recorded_seconds = float(sum(recording.duration_seconds or 0 for recording in recordings))
    streaming = call.path == Call.Path.STREAMING
    messages: dict[str, int] = {}
    for channel in OutboundMessage.objects.filter(call=call, status__in=BILLED_MESSAGE_STATUSES).values_list(
        "channel", flat=True
    ):
        messages[channel] = messages.get(channel, 0) + 1

    return CallUsage(
        path=call.path,
        call_seconds=call_seconds,
        # The streaming recognizer listens for the whole call; batch ASR hears the recordings.
        asr_provider=voice["asr"] if streaming else _batch_asr_provider(),
        asr_audio_seconds=call_seconds if streaming else recorded_seconds,
        tts_provider=voice["tts"],
        tts_characters=sum(len(text) for speaker, text in conversation if speaker == "assistant"),
        llm_provider=voice["agent"],
        llm_input_tokens=input_tokens,
        llm_output_tokens=output_tokens,
        recorded_seconds=0.0 if streaming else recorded_seconds,
        messages=messages,
    )


def call_cost_update(call: Call) -> Decimal:
    """Re-estimate a call's cost, store it on the call and add the change to the cost metric."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().select_related("business").get(pk=call.pk)
        previous = locked.cost_estimate
        total = cost_estimate(call_usage_collect(locked), settings.ZYLIN_PRICES).total
        locked.cost_estimate = total
        locked.save(update_fields=["cost_estimate"])
        path, slug = locked.path, locked.business.slug
        transaction.on_commit(lambda: metrics.cost_add(path, total - previous, business=slug))
    call.cost_estimate = total
    return total
