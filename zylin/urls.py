from django.contrib import admin
from django.urls import include, path

from zylin.admin_security import ThrottledAdminAuthenticationForm

# The admin login locks out a username and address after repeated failures.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", include("django_prometheus.urls")),
    # Before admin.site.urls, whose catch-all would otherwise answer /admin/calls/comparison/.
    path("admin/calls/", include("calls.admin_urls")),
    path("admin/", admin.site.urls),
    # Twilio webhooks and the signed voice-note links Twilio fetches.
    path("", include("calls.urls")),
]
