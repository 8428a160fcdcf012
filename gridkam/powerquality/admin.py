from django.contrib import admin

from .models import PowerQualityEvent, PqImport


@admin.register(PowerQualityEvent)
class PowerQualityEventAdmin(admin.ModelAdmin):
    list_display = ["started_at", "kind", "account", "severity", "outside_tolerance", "source", "service_request"]
    list_filter = ["kind", "source", "severity", "outside_tolerance"]
    search_fields = ["account__account_no", "account__customer__name"]
    raw_id_fields = ["account", "metering_point", "service_request", "import_batch", "reported_by"]
    readonly_fields = ["severity", "outside_tolerance", "applied_limit", "unit", "natural_key"]


@admin.register(PqImport)
class PqImportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "file_name", "status", "rows_total", "created_count", "duplicate_count"]
    readonly_fields = ["rejected"]
