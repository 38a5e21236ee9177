"""Admin for businesses: owners edit their own; staff create businesses and set rollout."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from .admin_tenancy import TenantAdminMixin, TenantRelatedListFilter, request_tenancy
from .models import FAQ, Business, Closure, OpeningHours, PhoneNumber, RolloutPolicy, RolloutPolicyChange, Service
from .services import rollout_policy_update


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "synonyms", "duration_minutes", "price", "currency", "active")


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class FAQInline(admin.StackedInline):
    model = FAQ
    extra = 0


@admin.register(Business)
class BusinessAdmin(TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "pk"
    list_display = ("name", "slug", "timezone", "numbers")
    search_fields = ("name", "slug", "phone_numbers__number")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("owners",)
    inlines = (PhoneNumberInline, ServiceInline, OpeningHoursInline, ClosureInline, FAQInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone", "address", "greeting")}),
        ("Calls", {"fields": ("transfer_number", "whatsapp_sender", "after_hours", "echo_mode")}),
        ("Owners", {"fields": ("owners",)}),
    )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("phone_numbers")

    @admin.display(description="Phone numbers")
    def numbers(self, obj: Business) -> str:
        return ", ".join(number.number for number in obj.phone_numbers.all())

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> tuple[str, ...]:
        if request_tenancy(request).staff:
            return ()
        # Owners run their business but do not decide who owns it.
        return ("owners",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_tenancy(request).staff and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request_tenancy(request).staff and super().has_delete_permission(request, obj)


@admin.register(Service)
class ServiceAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "business", "duration_minutes", "price", "currency", "active")
    list_filter = ("active", ("business", TenantRelatedListFilter))
    list_select_related = ("business",)
    search_fields = ("name", "synonyms")


class RolloutPolicyChangeInline(admin.TabularInline):
    model = RolloutPolicyChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "changed_by", "change")
    readonly_fields = fields
    verbose_name_plural = "Change history"

    @admin.display(description="Old → new")
    def change(self, obj: RolloutPolicyChange) -> str:
        return change_summary(obj)

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


def change_summary(change: RolloutPolicyChange) -> str:
    """The settings that changed, as "name: old → new" lines (HTML-escaped)."""
    names = [
        name for name in RolloutPolicy.AUDITED_FIELDS if change.old_values.get(name) != change.new_values.get(name)
    ]
    rows = [(name, _shown(change.old_values.get(name)), _shown(change.new_values.get(name))) for name in names]
    return format_html_join(mark_safe("<br>"), "{}: {} → {}", rows) or "no change"


def _shown(value: object) -> str:
    return "—" if value is None else str(value)


@admin.register(RolloutPolicy)
class RolloutPolicyAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("business", "enabled", "mode", "streaming_percent", "updated_at")
    list_filter = ("enabled", "mode")
    ordering = ("business__name",)
    list_select_related = ("business",)
    search_fields = ("business__name",)
    fields = ("business", *RolloutPolicy.AUDITED_FIELDS, "updated_at")
    readonly_fields = ("updated_at",)
    inlines = (RolloutPolicyChangeInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> tuple[str, ...]:
        # The business of an existing policy never moves to another business.
        return ("business", "updated_at") if obj is not None else ("updated_at",)

    # Only Zylin staff route calls; owners may look but not touch.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_tenancy(request).staff and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request_tenancy(request).staff and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request_tenancy(request).staff and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: RolloutPolicy, form: Any, change: bool) -> None:
        # Every write goes through the service so it is audited (who, when, old, new).
        values = {name: form.cleaned_data[name] for name in RolloutPolicy.AUDITED_FIELDS if name in form.cleaned_data}
        rollout_policy_update(policy=obj, changed_by=request.user, **values)


@admin.register(RolloutPolicyChange)
class RolloutPolicyChangeAdmin(TenantAdminMixin, admin.ModelAdmin):
    tenant_path = "policy__business"
    list_display = ("policy_business", "changed_at", "changed_by", "change")
    list_select_related = ("policy__business", "changed_by")
    list_filter = (("policy__business", TenantRelatedListFilter),)
    date_hierarchy = "changed_at"
    fields = ("policy", "changed_by", "changed_at", "change")
    readonly_fields = fields

    @admin.display(description="Business", ordering="policy__business__name")
    def policy_business(self, obj: RolloutPolicyChange) -> Business:
        return obj.policy.business

    @admin.display(description="Old → new")
    def change(self, obj: RolloutPolicyChange) -> str:
        return change_summary(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        # The audit trail is kept; it goes only with its policy.
        return False
