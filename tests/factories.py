"""factory_boy factories for the domain models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from bookings.models import Booking, Customer
from businesses.models import FAQ, Business, Closure, OpeningHours, PhoneNumber, RolloutPolicy, Service
from calls.models import Call, CallEvent, Intent, OutboundMessage, Recording, Turn


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")
    is_staff = True


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    timezone = "America/New_York"
    address = factory.Sequence(lambda n: f"{n} High Street")


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    business = factory.SubFactory(BusinessFactory)
    number = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 30
    price = Decimal("40.00")


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    business = factory.SubFactory(BusinessFactory)
    weekday = 0
    opens = dt.time(9)
    closes = dt.time(17)


class RolloutPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RolloutPolicy

    business = factory.SubFactory(BusinessFactory)
    streaming_percent = 100


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    business = factory.SubFactory(BusinessFactory)
    service = factory.SubFactory(ServiceFactory, business=factory.SelfAttribute("..business"))
    customer = factory.SubFactory(CustomerFactory, business=factory.SelfAttribute("..business"))
    start = factory.LazyFunction(lambda: dt.datetime(2030, 1, 7, 15, 0, tzinfo=dt.UTC))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=30))
    status = Booking.Status.CONFIRMED


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    business = factory.SubFactory(BusinessFactory)
    sid = factory.Sequence(lambda n: f"CA{n:032x}")
    from_number = "+12125550100"
    to_number = "+15005550006"


class TurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Turn

    call = factory.SubFactory(CallFactory)
    index = factory.Sequence(lambda n: n)
    speaker = Turn.Speaker.CALLER
    text = "Hello"


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    business = factory.SubFactory(BusinessFactory)
    date = factory.Sequence(lambda n: dt.date(2030, 12, 1) + dt.timedelta(days=n))
    reason = "Holiday"


class FAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQ

    business = factory.SubFactory(BusinessFactory)
    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "An answer."


class IntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intent

    turn = factory.SubFactory(TurnFactory)
    name = "book"
    confidence = 0.9
    slots = factory.LazyFunction(lambda: {"service": "Haircut"})


class CallEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallEvent

    call = factory.SubFactory(CallFactory)
    name = "barge_in"
    detail = factory.LazyFunction(dict)


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    call = factory.SubFactory(CallFactory)
    sid = factory.Sequence(lambda n: f"RE{n:032x}")
    transcript = "Please call me back."


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundMessage

    business = factory.SubFactory(BusinessFactory)
    to = "+12125550100"
    body = "Your booking is confirmed."
    status = OutboundMessage.Status.OUTBOX
    idempotency_key = factory.Sequence(lambda n: f"message-{n}")


def owner_create(business: Business, **fields: object):
    """A user in the owners' group who owns ``business`` (as seed_demo sets one up)."""
    from businesses.access import owners_group_ensure

    owner = UserFactory(**fields)
    owner.groups.add(owners_group_ensure())
    business.owners.add(owner)
    return owner
