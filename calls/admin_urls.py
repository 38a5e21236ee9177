"""Admin pages of the calls app that are not a model's change list (under /admin/calls/)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from calls.views_comparison import comparison_view

app_name = "calls_admin"

urlpatterns = [
    # admin_view: the admin's login redirect, CSRF and never-cache, like every admin page.
    path("comparison/", admin.site.admin_view(comparison_view), name="comparison"),
]
