"""Billing in the admin: read-mostly views for support; bills, payments and steps change only through
the services (bill runs, issuing, credit notes, payment recording, dunning steps)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from gridkam.core.admin import ReadOnlyAdmin

from .models import (
    Allocation,
    Bill,
    BillingImport,
    BillingTerms,
    BillLine,
    BillRun,
    DunningCase,
    DunningStep,
    Payment,
    RiskScore,
    RiskScorecard,
    RiskWarning,
)


class BillLineInline(admin.TabularInline):
    model = BillLine
    extra = 0
    can_delete = False
    fields = ("position", "item", "quantity", "unit_price", "amount", "rule_code")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("id", "number", "account", "period", "kind", "status", "source", "total", "amount_paid", "due_date")
    list_filter = ("status", "kind", "source", "period")
    search_fields = ("number", "account__account_no", "account__customer__name")
    list_select_related = ("account",)
    inlines = [BillLineInline]


@admin.register(BillRun)
class BillRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "period", "status", "created_by", "created_at", "accounts", "created", "replaced")
    list_filter = ("status",)


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    can_delete = False
    readonly_fields = ("bill", "amount", "allocated_on")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("id", "account", "kind", "method", "received_on", "amount", "reference", "source")
    list_filter = ("kind", "method", "source")
    search_fields = ("reference", "account__account_no")
    list_select_related = ("account",)
    inlines = [AllocationInline]


@admin.register(BillingTerms)
class BillingTermsAdmin(SimpleHistoryAdmin):
    list_display = ("account", "payment_days", "prepayment", "low_balance_threshold", "penalty_exempt")
    list_filter = ("prepayment", "penalty_exempt")
    search_fields = ("account__account_no",)
    raw_id_fields = ("account",)


@admin.register(BillingImport)
class BillingImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "file_name", "created_by", "created_at", "rows", "created", "unchanged")
    list_filter = ("kind",)


class DunningStepInline(admin.TabularInline):
    model = DunningStep
    extra = 0
    can_delete = False
    fields = ("kind", "done_on", "done_by", "approved_by", "arrears", "suspension_planned_on")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DunningCase)
class DunningCaseAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("id", "account", "status", "opened_on", "closed_on", "arrears_at_open")
    list_filter = ("status",)
    search_fields = ("account__account_no",)
    inlines = [DunningStepInline]


@admin.register(RiskScorecard)
class RiskScorecardAdmin(SimpleHistoryAdmin):
    list_display = ("id", "updated_at", "updated_by", "medium_from", "high_from", "severe_from")


@admin.register(RiskScore)
class RiskScoreAdmin(ReadOnlyAdmin):
    list_display = ("account", "scored_on", "score", "level")
    list_filter = ("level", "scored_on")
    search_fields = ("account__account_no",)


@admin.register(RiskWarning)
class RiskWarningAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("account", "level", "previous_level", "status", "assignee", "due_date", "created_at")
    list_filter = ("level", "status")
