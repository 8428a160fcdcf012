"""Key-account master data in the Django admin, for administrators' corrections (e.g. a mistyped
credit code, which the edit form keeps fixed). Saves go through the same services as the UI, and
every model with field history shows it. Account teams and tier rules are changed on their own pages
(they end terms and recompute tiers), so the admin shows them read-only."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import AccountAssignment, Contact, Customer, ElectricityAccount, Industry, MeteringPoint, TierRule


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "section")
    list_filter = ("section",)
    search_fields = ("code", "name", "name_en")


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ("name", "credit_code", "org_unit", "tier", "importance_class", "credit_rating")
    list_filter = ("tier", "importance_class", "credit_rating", "org_unit")
    search_fields = ("name", "credit_code", "name_initials")
    list_select_related = ("org_unit",)
    autocomplete_fields = ("industry", "org_unit", "parent")
    readonly_fields = ("name_initials", "tier_computed", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        services.customer_save(customer=obj)


@admin.register(ElectricityAccount)
class ElectricityAccountAdmin(SimpleHistoryAdmin):
    list_display = ("account_no", "name", "customer", "voltage_kv", "capacity_kva", "status")
    list_filter = ("voltage_kv", "status", "basic_charge_method", "supply_mode")
    search_fields = ("account_no", "name", "customer__name")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)

    def save_model(self, request, obj, form, change):
        services.account_save(account=obj)


@admin.register(MeteringPoint)
class MeteringPointAdmin(SimpleHistoryAdmin):
    list_display = ("code", "meter_no", "account", "ct_ratio", "pt_ratio", "multiplier", "purpose")
    list_filter = ("purpose",)
    search_fields = ("code", "meter_no", "account__account_no")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)

    def save_model(self, request, obj, form, change):
        services.metering_point_save(point=obj)


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ("name", "customer", "role", "phone", "email", "is_primary")
    list_filter = ("role", "is_primary")
    search_fields = ("name", "phone", "email", "customer__name")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)

    def save_model(self, request, obj, form, change):
        services.contact_save(contact=obj)

    def delete_model(self, request, obj):
        services.contact_delete(contact=obj)


@admin.register(AccountAssignment)
class AccountAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("customer", "role", "user", "start_date", "end_date", "reason")
    list_filter = ("role", "end_date")
    search_fields = ("customer__name", "user__username", "user__display_name")
    list_select_related = ("customer", "user")


@admin.register(TierRule)
class TierRuleAdmin(ReadOnlyAdmin):
    list_display = ("tier", "min_annual_energy_mwh", "min_capacity_kva", "importance_classes")
