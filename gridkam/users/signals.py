"""Keeps ``User.two_factor_enabled`` (a per-request shortcut) in step with the user's confirmed TOTP devices when a
device is removed outside the services, e.g. by an administrator in the admin for someone who lost the phone."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="users_totp_device_deleted")
def totp_device_deleted(sender, instance: TOTPDevice, **kwargs) -> None:
    if not TOTPDevice.objects.filter(user_id=instance.user_id, confirmed=True).exists():
        User.objects.filter(pk=instance.user_id, two_factor_enabled=True).update(two_factor_enabled=False)
