from django.contrib import admin

from .models import HiddenDanger, Inspection, InspectionInterval


@admin.register(InspectionInterval)
class InspectionIntervalAdmin(admin.ModelAdmin):
    list_display = ("importance_class", "tier", "interval_months", "updated_by", "updated_at")
    list_editable = ("interval_months",)


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    """Read-only: inspections are recorded through their page or the API (the services check them)."""

    list_display = ("date", "kind", "customer", "inspector")
    list_filter = ("kind",)
    search_fields = ("customer__name",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HiddenDanger)
class HiddenDangerAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "severity", "status", "deadline", "escalation_level")
    list_filter = ("severity", "status")
    search_fields = ("number", "customer__name")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
