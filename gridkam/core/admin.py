"""The organisation tree in the Django admin; saves go through org_unit_save so sub-unit paths follow."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import OrgUnit
from .services import org_unit_save


@admin.register(OrgUnit)
class OrgUnitAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "kind", "parent", "path")
    list_filter = ("kind",)
    search_fields = ("name", "code")
    readonly_fields = ("path",)
    autocomplete_fields = ("parent",)
    ordering = ("path",)

    def save_model(self, request, obj, form, change):
        org_unit_save(unit=obj)
