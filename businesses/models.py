"""A business and what Zylin needs to answer for it."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from .validators import validate_e164, validate_timezone


class Business(models.Model):
    class AfterHours(models.TextChoices):
        RECORD = "record", "Take a message (recording path)"
        STREAM = "stream", "Answer on the streaming path anyway"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    greeting = models.CharField(max_length=300, blank=True)
    address = models.CharField(max_length=200, blank=True)
    transfer_number = models.CharField("human transfer number", max_length=20, blank=True, validators=[validate_e164])
    whatsapp_sender = models.CharField("WhatsApp sender", max_length=20, blank=True, validators=[validate_e164])
    after_hours = models.CharField(max_length=10, choices=AfterHours.choices, default=AfterHours.RECORD)
    echo_mode = models.BooleanField(
        default=False, help_text="Line check: the streaming path sends the caller's audio straight back."
    )
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="businesses")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "businesses"

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def greeting_text(self) -> str:
        return self.greeting or f"Thank you for calling {self.name}. How can I help you today?"


class PhoneNumber(models.Model):
    """A number Twilio calls for this business."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="phone_numbers")
    number = models.CharField(max_length=20, unique=True, validators=[validate_e164])

    def __str__(self) -> str:
        return self.number


class Service(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=80)
    synonyms = models.CharField(
        max_length=200, blank=True, help_text="Other words callers use, comma-separated (e.g. trim, cut)."
    )
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(5), MaxValueValidator(600)])
    price = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="service_unique_name_per_business"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def synonym_list(self) -> list[str]:
        return [s.strip() for s in self.synonyms.split(",") if s.strip()]


class OpeningHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_hours_closes_after_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """A day the business is closed although its weekday is normally open (holidays)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["business", "date"], name="closure_unique_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


class FAQ(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="faqs")
    question = models.CharField(max_length=200)
    answer = models.TextField()

    class Meta:
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question


class RolloutPolicy(models.Model):
    """How many of this business's calls take the streaming path."""

    class Mode(models.TextChoices):
        PERCENT = "percent", "Percent of calls"
        HYBRID = "hybrid", "Hybrid: route by the caller's first sentence"

    class Path(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        RECORDING = "recording", "Recording"

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="rollout_policy")
    enabled = models.BooleanField(default=True, help_text="When off, every call takes the recording path.")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.PERCENT)
    streaming_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    hybrid_simple_path = models.CharField(max_length=10, choices=Path.choices, default=Path.STREAMING)
    hybrid_complex_path = models.CharField(max_length=10, choices=Path.choices, default=Path.RECORDING)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "rollout policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(streaming_percent__gte=0) & Q(streaming_percent__lte=100),
                name="rollout_percent_0_100",
            ),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.business}: {self.streaming_percent}% streaming ({self.mode}, {state})"

    AUDITED_FIELDS = ("enabled", "mode", "streaming_percent", "hybrid_simple_path", "hybrid_complex_path")

    def audited_values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.AUDITED_FIELDS}


class RolloutPolicyChange(models.Model):
    """Audit trail: who changed a rollout policy, when, from what, to what."""

    policy = models.ForeignKey(RolloutPolicy, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    changed_at = models.DateTimeField(auto_now_add=True)
    old_values = models.JSONField(default=dict)
    new_values = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.policy.business} changed {self.changed_at:%Y-%m-%d %H:%M}"
