"""Create the demo business, idempotently: running it twice gives the same rows."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from businesses.access import owners_group_ensure
from businesses.models import FAQ, Business, OpeningHours, PhoneNumber, RolloutPolicy, Service

DEMO_SLUG = "bella-hair-studio"
DEMO_NUMBER = "+15005550006"
OWNER_USERNAME = "bella-owner"

SERVICES = [
    ("Haircut", "cut, trim, hair cut, men's cut, women's cut", 30, Decimal("45.00")),
    ("Beard trim", "beard, shave, beard shape", 15, Decimal("20.00")),
    ("Hair color", "color, colour, dye, highlights, coloring", 90, Decimal("120.00")),
]
HOURS = [(day, dt.time(9), dt.time(18)) for day in range(5)] + [(5, dt.time(10), dt.time(16))]
FAQS = [
    ("Is there parking?", "Yes, there is free parking behind the building, and street parking on Main Street."),
    ("Do you take walk-ins?", "We welcome walk-ins when a chair is free, but booking ahead guarantees your time."),
    ("How can I pay?", "We take cash, all major credit cards, Apple Pay and Google Pay."),
    ("What is your cancellation policy?", "Please cancel or move your appointment at least four hours ahead."),
]


class Command(BaseCommand):
    help = "Create the demo business Bella Hair Studio and its owner login (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        business, _ = Business.objects.update_or_create(
            slug=DEMO_SLUG,
            defaults={
                "name": "Bella Hair Studio",
                "timezone": "America/New_York",
                "address": "12 Main Street",
                "greeting": "Thank you for calling Bella Hair Studio, this is Zylin. How can I help you today?",
                "transfer_number": "+15005550007",
                "whatsapp_sender": "+14155238886",
                # The demo answers live at any hour, so it can be tried whenever.
                "after_hours": Business.AfterHours.STREAM,
            },
        )
        PhoneNumber.objects.update_or_create(number=DEMO_NUMBER, defaults={"business": business})
        for name, synonyms, minutes, price in SERVICES:
            Service.objects.update_or_create(
                business=business,
                name=name,
                defaults={"synonyms": synonyms, "duration_minutes": minutes, "price": price, "active": True},
            )
        kept = [
            OpeningHours.objects.update_or_create(
                business=business, weekday=day, defaults={"opens": opens, "closes": closes}
            )[0].pk
            for day, opens, closes in HOURS
        ]
        business.opening_hours.exclude(pk__in=kept).delete()
        for question, answer in FAQS:
            FAQ.objects.update_or_create(business=business, question=question, defaults={"answer": answer})
        RolloutPolicy.objects.get_or_create(
            business=business, defaults={"enabled": True, "mode": RolloutPolicy.Mode.PERCENT, "streaming_percent": 100}
        )
        self._ensure_owner(business)
        self.stdout.write(f"Demo business ready: {business.name} ({DEMO_NUMBER}), owner login '{OWNER_USERNAME}'.")

    def _ensure_owner(self, business: Business) -> None:
        User = get_user_model()
        owner, created = User.objects.get_or_create(username=OWNER_USERNAME, defaults={"is_staff": True})
        password = os.environ.get("ZYLIN_DEMO_PASSWORD", "")
        if password:
            owner.set_password(password)
        elif created:
            password = secrets.token_urlsafe(12)
            owner.set_password(password)
            self.stdout.write(f"Owner password (shown once): {password}")
        owner.is_staff = True
        owner.save()
        owner.groups.add(owners_group_ensure())
        business.owners.add(owner)
