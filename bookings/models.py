"""Customers and their bookings.

No two live bookings (held or confirmed) of one business may overlap. On
PostgreSQL an exclusion constraint over the time range enforces it (migration
0002); on SQLite the booking services run in IMMEDIATE transactions, which
serialize writers, and check for overlaps inside them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from businesses.models import Business, Service
from businesses.validators import validate_e164


class Customer(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=20, validators=[validate_e164])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "phone"]
        constraints = [models.UniqueConstraint(fields=["business", "phone"], name="customer_unique_phone")]

    def __str__(self) -> str:
        return f"{self.name or 'Unknown'} ({self.phone})"


class Booking(models.Model):
    class Status(models.TextChoices):
        HELD = "held", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"

    LIVE_STATUSES = (Status.HELD, Status.CONFIRMED)

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    source_call = models.ForeignKey(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    cancel_reason = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["business", "status", "start"], name="booking_business_status_start")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="booking_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service} for {self.customer} at {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def local_start(self):
        return self.start.astimezone(self.business.tz)
