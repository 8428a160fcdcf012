from django.contrib import admin

from .models import AccountSupply, Feeder, Outage, OutageNotice, Substation
from .services import feeder_save, substation_save, supply_save


class FeederInline(admin.TabularInline):
    model = Feeder
    extra = 0
    fields = ["code", "name"]


@admin.register(Substation)
class SubstationAdmin(admin.ModelAdmin):
    list_display = ["name", "voltage_kv", "org_unit"]
    list_filter = ["voltage_kv"]
    search_fields = ["name"]
    inlines = [FeederInline]

    def save_model(self, request, obj, form, change):
        substation_save(substation=obj)


class SupplyInline(admin.TabularInline):
    model = AccountSupply
    extra = 0
    autocomplete_fields = ["account"]


@admin.register(Feeder)
class FeederAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "substation"]
    list_filter = ["substation"]
    search_fields = ["code", "name"]
    inlines = [SupplyInline]

    def save_model(self, request, obj, form, change):
        feeder_save(feeder=obj)


@admin.register(AccountSupply)
class AccountSupplyAdmin(admin.ModelAdmin):
    list_display = ["account", "feeder", "role"]
    list_filter = ["role", "feeder__substation"]
    search_fields = ["account__account_no", "account__name", "feeder__code"]
    autocomplete_fields = ["account", "feeder"]

    def save_model(self, request, obj, form, change):
        supply_save(supply=obj)


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    """Read here; outages are planned and announced on their pages (the notices and checks live in the services)."""

    list_display = ["number", "kind", "status", "planned_start", "planned_end", "lead_breach"]
    list_filter = ["kind", "status", "lead_breach"]
    search_fields = ["number", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutageNotice)
class OutageNoticeAdmin(admin.ModelAdmin):
    list_display = ["outage", "customer", "version", "sent_at", "late", "acknowledged_at", "hurt"]
    list_filter = ["late", "hurt"]
    search_fields = ["outage__number", "customer__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
