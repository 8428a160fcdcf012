"""The tariff catalogue in the Django admin: administrators add tariffs and draft versions, check them,
and publish. A published version is read-only here (and refused by ``load_tariffs``): bills refer to
it, so a price change is a new version with a later date."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import MonthlyUsage, Tariff, TariffVersion


class TariffVersionInline(admin.TabularInline):
    model = TariffVersion
    fields = ("effective_from", "status", "flat_yuan_per_kwh", "capacity_yuan_per_kva_month", "illustrative")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tariff)
class TariffAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "region", "customer_category", "voltage_band", "structure", "active")
    list_filter = ("structure", "customer_category", "voltage_band", "active")
    search_fields = ("code", "name", "region")
    inlines = [TariffVersionInline]

    def get_readonly_fields(self, request, obj=None):
        # Accounts refer to a tariff by its code.
        return ("code",) if obj else ()


@admin.register(TariffVersion)
class TariffVersionAdmin(SimpleHistoryAdmin):
    list_display = ("tariff", "effective_from", "status", "published_at", "illustrative")
    list_filter = ("status", "illustrative", "tariff")
    list_select_related = ("tariff",)
    date_hierarchy = "effective_from"
    actions = ["publish"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Publish the selected draft versions"))
    def publish(self, request, queryset):
        for version in queryset.select_related("tariff"):
            try:
                services.tariff_version_publish(version=version)
            except ValidationError as exc:
                self.message_user(request, f"{version}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(version)s is published.") % {"version": version}, messages.SUCCESS)


@admin.register(MonthlyUsage)
class MonthlyUsageAdmin(SimpleHistoryAdmin):
    list_display = ("account", "month", "peak_kwh", "flat_kwh", "valley_kwh", "max_demand_kw", "source")
    list_filter = ("source",)
    search_fields = ("account__account_no", "account__name")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    date_hierarchy = "month"
