"""Users and teams in the Django admin: where administrators create staff and portal logins."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "role", "org_unit", "team", "customer", "is_active")
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


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "org_unit", "lead")
    list_filter = ("org_unit",)
    search_fields = ("name",)
    autocomplete_fields = ("org_unit", "lead")
