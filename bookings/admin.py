"""Admin for bookings: filters by day, a day view, and every write through the booking services."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget, AdminTimeWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from businesses.admin_tenancy import TenantAdminMixin, TenantRelatedListFilter, request_tenancy
from businesses.models import Business
from businesses.validators import e164_normalize

from .errors import BookingError
from .models import Booking, Customer
from .services import booking_cancel, booking_create, booking_reschedule

# Which form field a refusal from the booking services belongs to (others are form-wide).
ERROR_FIELDS = {"unknown_service": "service"}


def wall_clock_start(business: Business, day: dt.date, time: dt.time) -> dt.datetime:
    """The instant at which the business's clocks show ``day`` ``time``. Raises ValidationError."""
    zone = business.tz
    local = dt.datetime.combine(day, time, tzinfo=zone)
    instant = local.astimezone(dt.UTC)
    # A spring-forward change skips an hour of wall-clock times; they name no instant.
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError(f"{time:%H:%M} does not exist on {day} in {business.timezone} (the clocks change).")
    return instant


def local_day_bounds(zone: zoneinfo.ZoneInfo, first: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """From local midnight of ``first`` to local midnight ``days`` later (23 or 25 hours on DST days)."""
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=zone),
        dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), tzinfo=zone),
    )


def _booking_error(exc: BookingError) -> ValidationError:
    return ValidationError(str(exc), code=exc.code)


class BookingAddForm(forms.ModelForm):
    """A new confirmed booking, written by ``booking_create``.

    The write happens during validation so that a refusal from the booking
    services, including a racing writer caught by the database, comes back as a
    form error. The admin runs the whole view in one transaction.
    """

    day = forms.DateField(widget=AdminDateWidget, help_text="The business's local date.")
    time = forms.TimeField(widget=AdminTimeWidget, help_text="The business's local time.")
    customer_name = forms.CharField(max_length=120, required=False)
    customer_phone = forms.CharField(max_length=32, help_text="For example +15551234567.")

    class Meta:
        model = Booking
        fields = ("business", "service", "source_call")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        business: Business = cleaned["business"]
        call = cleaned.get("source_call")
        if call is not None and call.business_id != business.pk:
            self.add_error("source_call", "That call was made to another business.")
            return cleaned
        try:
            phone = e164_normalize(cleaned["customer_phone"])
        except ValidationError as exc:
            self.add_error("customer_phone", exc)
            return cleaned
        try:
            start = wall_clock_start(business, cleaned["day"], cleaned["time"])
            self.instance = booking_create(
                business=business,
                service=cleaned["service"],
                start=start,
                caller_phone=phone,
                customer_name=cleaned.get("customer_name", ""),
                call=call,
            )
        except BookingError as exc:
            self.add_error(ERROR_FIELDS.get(exc.code), _booking_error(exc))
        except ValidationError as exc:
            self.add_error("time", exc)
        return cleaned


class BookingRescheduleForm(forms.ModelForm):
    """Move a booking to another local day and time, through ``booking_reschedule``."""

    day = forms.DateField(widget=AdminDateWidget, help_text="The business's local date.")
    time = forms.TimeField(widget=AdminTimeWidget, help_text="The business's local time.")

    class Meta:
        model = Booking
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            local = self.instance.start.astimezone(self.instance.business.tz)
            self.initial.setdefault("day", local.date())
            self.initial.setdefault("time", local.time())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            start = wall_clock_start(self.instance.business, cleaned["day"], cleaned["time"])
            if start != self.instance.start:
                self.instance = booking_reschedule(booking=self.instance, start=start)
        except BookingError as exc:
            self.add_error(None, _booking_error(exc))
        except ValidationError as exc:
            self.add_error("time", exc)
        return cleaned


class BookingDayFilter(admin.SimpleListFilter):
    """Today, tomorrow or this week, each in the booking's business's own timezone."""

    title = "day"
    parameter_name = "day"
    SPANS = {"today": (0, 1), "tomorrow": (1, 1), "week": (None, 7)}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "This week")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return None
        offset, days = span
        now = timezone.now()
        zones = queryset.order_by().values_list("business__timezone", flat=True).distinct()
        in_span = Q(pk__in=[])
        for name in zones:
            zone = zoneinfo.ZoneInfo(name)
            today = now.astimezone(zone).date()
            first = today - dt.timedelta(days=today.weekday()) if offset is None else today + dt.timedelta(offset)
            start, end = local_day_bounds(zone, first, days)
            in_span |= Q(business__timezone=name, start__gte=start, start__lt=end)
        return queryset.filter(in_span)


@admin.register(Customer)
class CustomerAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "phone", "business", "created_at")
    list_filter = (("business", TenantRelatedListFilter),)
    list_select_related = ("business",)
    search_fields = ("name", "phone")


@admin.register(Booking)
class BookingAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("when", "service", "customer", "status", "business")
    list_filter = (
        BookingDayFilter,
        "status",
        ("service", TenantRelatedListFilter),
        ("business", TenantRelatedListFilter),
    )
    list_select_related = ("business", "service", "customer")
    date_hierarchy = "start"
    search_fields = ("customer__name", "customer__phone")
    autocomplete_fields = ("service",)
    raw_id_fields = ("source_call",)
    actions = ("cancel_bookings",)
    add_fieldsets = (
        (None, {"fields": ("business", "service", "day", "time", "customer_name", "customer_phone")}),
        ("From a call", {"fields": ("source_call",), "classes": ("collapse",)}),
    )
    change_fieldsets = (
        (None, {"fields": ("business", "service", "customer", "status", "when")}),
        ("Move to", {"fields": ("day", "time")}),
        ("Details", {"fields": ("source_call", "hold_expires_at", "cancel_reason", "created_at", "updated_at")}),
    )
    change_readonly_fields = (
        "business",
        "service",
        "customer",
        "status",
        "when",
        "source_call",
        "hold_expires_at",
        "cancel_reason",
        "created_at",
        "updated_at",
    )

    @admin.display(description="When (local time)", ordering="start")
    def when(self, obj: Booking) -> str:
        local = obj.start.astimezone(obj.business.tz)
        end = obj.end.astimezone(obj.business.tz)
        return f"{local:%a %d %b %Y, %H:%M}–{end:%H:%M} {local.tzname()}"

    def get_fieldsets(self, request: HttpRequest, obj: Booking | None = None) -> Any:
        return self.change_fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Booking | None = None) -> tuple[str, ...]:
        return self.change_readonly_fields if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Booking | None = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = BookingRescheduleForm if obj is not None else BookingAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Booking, form: forms.ModelForm, change: bool) -> None:
        # Nothing to write: the form's validation already went through booking_create
        # or booking_reschedule (style: the admin never writes bookings directly).
        return None

    def has_delete_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        # Bookings are cancelled, never deleted, so the history of a slot stays readable.
        return False

    @admin.action(description="Cancel selected bookings", permissions=["change"])
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = f"cancelled in the admin by {request.user.get_username()}"
        cancelled = 0
        for booking in queryset.exclude(status=Booking.Status.CANCELLED):
            booking_cancel(booking=booking, reason=reason)
            cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} booking(s).", messages.SUCCESS)

    # --- the day view ---------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        day = path("day/", self.admin_site.admin_view(self.day_view), name="bookings_booking_day")
        return [day, *super().get_urls()]

    def day_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        businesses = self._day_view_businesses(request)
        zone = self.tenant_timezone(request) or (businesses[0].tz if len(businesses) == 1 else dt.UTC)
        try:
            day = dt.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
        except ValueError as exc:
            raise Http404("The date must look like 2030-01-07.") from exc
        day = day or timezone.now().astimezone(zone).date()
        show_cancelled = request.GET.get("cancelled") == "1"
        rows = self._day_bookings(request, businesses, day, show_cancelled)
        link = reverse("admin:bookings_booking_day")
        keep = {name: request.GET[name] for name in ("business", "cancelled") if request.GET.get(name)}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Bookings on {day:%A %d %B %Y}",
            "day": day,
            "days": [{"business": business, "bookings": rows.get(business.pk, [])} for business in businesses],
            "show_cancelled": show_cancelled,
            "previous_url": f"{link}?{urlencode({'date': day - dt.timedelta(days=1), **keep})}",
            "next_url": f"{link}?{urlencode({'date': day + dt.timedelta(days=1), **keep})}",
            "cancelled_toggle_url": f"{link}?{urlencode(_toggled(keep, day))}",
            "changelist_url": reverse("admin:bookings_booking_changelist"),
        }
        return TemplateResponse(request, "admin/bookings/booking/day_view.html", context)

    def _day_view_businesses(self, request: HttpRequest) -> list[Business]:
        tenancy = request_tenancy(request)
        visible = Business.objects.all() if tenancy.staff else Business.objects.filter(pk__in=tenancy.business_ids)
        chosen = request.GET.get("business")
        if chosen:
            if not chosen.isdigit() or not visible.filter(pk=chosen).exists():
                raise Http404("No such business.")
            visible = visible.filter(pk=chosen)
        return list(visible)

    def _day_bookings(
        self, request: HttpRequest, businesses: list[Business], day: dt.date, show_cancelled: bool
    ) -> dict[int, list[Booking]]:
        in_day = Q(pk__in=[])
        for name in {business.timezone for business in businesses}:
            start, end = local_day_bounds(zoneinfo.ZoneInfo(name), day)
            in_day |= Q(business__timezone=name, start__gte=start, start__lt=end)
        bookings = (
            self.get_queryset(request)
            .filter(in_day, business__in=businesses)
            .select_related("business", "service", "customer")
            .order_by("start")
        )
        if not show_cancelled:
            bookings = bookings.exclude(status=Booking.Status.CANCELLED)
        rows: dict[int, list[Booking]] = defaultdict(list)
        for booking in bookings:
            rows[booking.business_id].append(booking)
        return rows


def _toggled(keep: dict[str, str], day: dt.date) -> dict[str, Any]:
    """Query parameters for the same day with cancelled bookings shown or hidden the other way."""
    params: dict[str, Any] = {"date": day, **keep}
    if params.pop("cancelled", None) is None:
        params["cancelled"] = "1"
    return params
