"""Who may see what: Zylin staff see every business; an owner sees their own."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

OWNERS_GROUP = "Business owners"
STAFF_GROUP = "Zylin staff"

# What an owner may do in the admin, per model: read their calls, manage their
# bookings and business data. Rollout policies are staff-only (owners may view).
OWNER_PERMISSIONS = {
    "businesses": {
        "business": ("view", "change"),
        "phonenumber": ("view",),
        "service": ("view", "add", "change", "delete"),
        "openinghours": ("view", "add", "change", "delete"),
        "closure": ("view", "add", "change", "delete"),
        "faq": ("view", "add", "change", "delete"),
        "rolloutpolicy": ("view",),
        "rolloutpolicychange": ("view",),
    },
    "bookings": {
        "customer": ("view", "add", "change"),
        "booking": ("view", "add", "change"),
    },
    "calls": {
        "call": ("view",),
        "turn": ("view",),
        "intent": ("view",),
        "callevent": ("view",),
        "recording": ("view",),
        "outboundmessage": ("view",),
    },
}


def is_zylin_staff(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name=STAFF_GROUP).exists()


def owners_group_ensure() -> Group:
    """Create or refresh the owners' group with exactly the owner permissions."""
    group, _ = Group.objects.get_or_create(name=OWNERS_GROUP)
    wanted = []
    for app_label, models in OWNER_PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}"))
    group.permissions.set(wanted)
    return group
