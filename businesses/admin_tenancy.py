"""Tenant isolation for the admin: an owner sees and touches only their businesses' rows.

Every admin of a business-owned model mixes in ``TenantAdminMixin`` and names the
path from its model to ``Business`` in ``tenant_path``. The mixin scopes every way
the admin reaches rows: change lists, change/delete/history pages, search and
autocomplete, foreign-key choices, raw-id widgets and related-field filters.
Zylin staff are not scoped.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from .access import is_zylin_staff
from .models import Business

_CACHE_ATTR = "_zylin_tenancy"


class _Tenancy:
    """What one request may see: every business (staff) or a fixed set of ids."""

    def __init__(self, *, staff: bool, business_ids: frozenset[int], timezones: frozenset[str]) -> None:
        self.staff = staff
        self.business_ids = business_ids
        self.timezones = timezones


def request_tenancy(request: HttpRequest) -> _Tenancy:
    """The requesting user's tenancy, computed once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    user = request.user
    if is_zylin_staff(user):
        tenancy = _Tenancy(staff=True, business_ids=frozenset(), timezones=frozenset())
    elif user.is_authenticated and user.is_active:
        rows = list(Business.objects.filter(owners=user).values_list("pk", "timezone"))
        tenancy = _Tenancy(
            staff=False,
            business_ids=frozenset(pk for pk, _ in rows),
            timezones=frozenset(tz for _, tz in rows),
        )
    else:
        tenancy = _Tenancy(staff=False, business_ids=frozenset(), timezones=frozenset())
    setattr(request, _CACHE_ATTR, tenancy)
    return tenancy


def tenant_business_id(obj: models.Model, path: str) -> int | None:
    """Follow ``path`` (``"business"``, ``"call__business"``, ``"pk"``) from ``obj`` to a business id."""
    *hops, last = path.split("__")
    target: Any = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    if last == "pk":
        return target.pk
    return getattr(target, f"{last}_id", None)


def _names_business(entry: Any) -> bool:
    """Whether a list_display or list_filter entry is the business relation itself."""
    name = entry[0] if isinstance(entry, tuple) else entry
    return isinstance(name, str) and (name == "business" or name.endswith("__business"))


class TenantRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw-id input whose label lookup only resolves ids the user may see.

    Django's widget labels any id through the model's default manager, so a
    tampered ``?customer=<other business's id>`` would print that row's name.
    """

    def __init__(self, *args: Any, queryset: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible = queryset

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        key = self.rel.get_related_field().name
        try:
            if not self.visible.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, TypeError, forms.ValidationError):
            return "", ""
        return super().label_and_url_for_value(value)


class TenantRelatedListFilter(admin.RelatedFieldListFilter):
    """A related-field filter that lists only the related rows the user may see."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[Any, str]]:
        related_admin = model_admin.admin_site._registry.get(field.remote_field.model)
        if not isinstance(related_admin, TenantAdminMixin):
            return super().field_choices(field, request, model_admin)
        queryset = related_admin.tenant_filter(request, field.remote_field.model._default_manager.all())
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        target = field.target_field.attname
        return [(getattr(obj, target), str(obj)) for obj in queryset]


class TenantAdminMixin:
    """Scope a ModelAdmin to the businesses the requesting user owns.

    ``tenant_path`` is the lookup from the model to its Business: ``"business"``
    for most models, ``"call__business"`` for call records, ``"pk"`` for
    Business itself.
    """

    tenant_path: str = "business"

    # --- who may see what -------------------------------------------------
    def tenant_filter(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        tenancy = request_tenancy(request)
        if tenancy.staff:
            return queryset
        return queryset.filter(**{f"{self.tenant_path}__in": tenancy.business_ids})

    def tenant_owns(self, request: HttpRequest, obj: models.Model | None) -> bool:
        """Whether ``obj`` (None means "objects of this kind") is within the user's tenancy."""
        tenancy = request_tenancy(request)
        if obj is None or tenancy.staff:
            return True
        return tenant_business_id(obj, self.tenant_path) in tenancy.business_ids

    def tenant_timezone(self, request: HttpRequest) -> zoneinfo.ZoneInfo | None:
        """The business's zone for a user whose businesses share one zone, so times read locally."""
        tenancy = request_tenancy(request)
        if tenancy.staff or len(tenancy.timezones) != 1:
            return None
        return zoneinfo.ZoneInfo(next(iter(tenancy.timezones)))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.tenant_filter(request, super().get_queryset(request))  # type: ignore[misc]

    def _single_business(self, request: HttpRequest) -> bool:
        tenancy = request_tenancy(request)
        return not tenancy.staff and len(tenancy.business_ids) == 1

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        columns = super().get_list_display(request)  # type: ignore[misc]
        if not self._single_business(request):
            return columns
        # An owner of one business learns nothing from a business column or filter,
        # except where the business names the row (the first, linked column).
        return [column for index, column in enumerate(columns) if index == 0 or not _names_business(column)]

    def get_list_filter(self, request: HttpRequest) -> Sequence[Any]:
        filters = super().get_list_filter(request)  # type: ignore[misc]
        return [item for item in filters if not _names_business(item)] if self._single_business(request) else filters

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> models.Model | None:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None and not request_tenancy(request).staff:
            # Another business's row and a missing row look the same: a 404,
            # never the "perhaps it was deleted" redirect that confirms an id exists.
            raise Http404("No such object.")
        return obj

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        return self.tenant_filter(request, queryset), may_have_duplicates

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.tenant_owns(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.tenant_owns(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.tenant_owns(request, obj)  # type: ignore[misc]

    # --- choices in forms -----------------------------------------------------
    def get_field_queryset(self, db: str | None, db_field: models.Field, request: HttpRequest) -> QuerySet | None:
        related_model = db_field.remote_field.model
        related_admin = self.admin_site._registry.get(related_model)  # type: ignore[attr-defined]
        if isinstance(related_admin, TenantAdminMixin):
            queryset = related_admin.tenant_filter(request, related_model._default_manager.using(db).all())
            ordering = related_admin.get_ordering(request)  # type: ignore[attr-defined]
            return queryset.order_by(*ordering) if ordering else queryset
        if not request_tenancy(request).staff:
            # A relation outside the business data (users, groups): owners pick none.
            return related_model._default_manager.none()
        return super().get_field_queryset(db, db_field, request)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.raw_id_fields:  # type: ignore[attr-defined]
            visible = self.get_field_queryset(kwargs.get("using"), db_field, request)
            if visible is None:
                visible = db_field.remote_field.model._default_manager.all()
            kwargs["widget"] = TenantRawIdWidget(
                db_field.remote_field,
                self.admin_site,
                using=kwargs.get("using"),
                queryset=visible,  # type: ignore[attr-defined]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)  # type: ignore[misc]
        tenancy = request_tenancy(request)
        if self.tenant_path == "business" and self._single_business(request):
            initial["business"] = next(iter(tenancy.business_ids))
        return initial

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        if not self.tenant_owns(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    # --- local time for owners ------------------------------------------------
    def _in_tenant_timezone(self, request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
        zone = self.tenant_timezone(request)
        if zone is None:
            return view()
        with timezone.override(zone):
            response = view()
            # Template responses render lazily; render while the zone is active.
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()
            return response

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        parent = super().changelist_view  # type: ignore[misc]
        return self._in_tenant_timezone(request, lambda: parent(request, extra_context))

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        parent = super().changeform_view  # type: ignore[misc]
        return self._in_tenant_timezone(request, lambda: parent(request, object_id, form_url, extra_context))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        parent = super().history_view  # type: ignore[misc]
        return self._in_tenant_timezone(request, lambda: parent(request, object_id, extra_context))


class ReadOnlyAdminMixin:
    """Rows written by Zylin itself: nobody adds or edits them; only staff may delete."""

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return request_tenancy(request).staff and super().has_delete_permission(request, obj)  # type: ignore[misc]
