"""Users and teams in the Django admin: where administrators create staff and portal logins."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Invitation, PortalScope, Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "display_name",
        "role",
        "org_unit",
        "team",
        "customer",
        "is_active",
        "two_factor_enabled",
    )
    actions = ["turn_off_two_factor"]
    list_filter = ("role", "is_active", "org_unit")
    search_fields = ("username", "display_name", "first_name", "last_name", "email", "phone")
    autocomplete_fields = ("org_unit", "team", "customer")
    list_select_related = ("org_unit", "team", "customer")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("GridKAM"), {"fields": ("display_name", "phone", "role", "org_unit", "team", "customer")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("GridKAM"), {"fields": ("display_name", "role", "org_unit", "team", "customer")}),
    )

    @admin.action(description=_("Turn off two-factor authentication (lost phone)"))
    def turn_off_two_factor(self, request, queryset):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.filter(user__in=queryset).delete()
        changed = queryset.filter(two_factor_enabled=True).update(two_factor_enabled=False)
        self.message_user(request, _("Two-factor authentication turned off for %(n)d users.") % {"n": changed})


@admin.register(PortalScope)
class PortalScopeAdmin(admin.ModelAdmin):
    list_display = ("user", "customer", "granted_by", "granted_at")
    search_fields = ("user__username", "customer__name")
    autocomplete_fields = ("user", "customer", "granted_by")
    list_select_related = ("user", "customer", "granted_by")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are made and withdrawn on the customer 360 page (the token exists only in the mail)."""

    list_display = ("email", "name", "customer", "invited_by", "sent_at", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("email", "name", "customer__name")
    list_select_related = ("customer", "invited_by")
    readonly_fields = [f.name for f in Invitation._meta.fields] + ["scope"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "org_unit", "lead")
    list_filter = ("org_unit",)
    search_fields = ("name",)
    autocomplete_fields = ("org_unit", "lead")
