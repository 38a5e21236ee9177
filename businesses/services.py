"""Writes to businesses go through here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import RolloutPolicy, RolloutPolicyChange


@transaction.atomic
def rollout_policy_update(*, policy: RolloutPolicy, changed_by: Any, **values: Any) -> RolloutPolicy:
    """Change a rollout policy and record who changed what."""
    locked = RolloutPolicy.objects.select_for_update().get(pk=policy.pk) if policy.pk else None
    old = locked.audited_values() if locked else {}
    for name, value in values.items():
        if name not in RolloutPolicy.AUDITED_FIELDS:
            raise ValueError(f"{name} is not a rollout policy setting")
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    new = policy.audited_values()
    if old != new:
        RolloutPolicyChange.objects.create(
            policy=policy,
            changed_by=changed_by if getattr(changed_by, "pk", None) else None,
            old_values=old,
            new_values=new,
        )
    return policy
