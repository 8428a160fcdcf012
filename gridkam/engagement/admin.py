from django.contrib import admin

from .models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "customer", "assignee", "due_date", "status", "source")
    list_filter = ("status", "source")
    search_fields = ("title", "customer__name")
    raw_id_fields = ("customer", "account", "assignee", "created_by")


# --- Service plans and visits (issue 6 item 4) ---------------------------------------------------------------------

from simple_history.admin import SimpleHistoryAdmin  # noqa: E402

from .models import (  # noqa: E402
    PlanChange,
    PlanItem,
    PlanOccurrence,
    PlanTemplate,
    PlanTemplateItem,
    ServicePlan,
    Visit,
    VisitFollowUp,
)


class PlanTemplateItemInline(admin.TabularInline):
    model = PlanTemplateItem
    extra = 0


@admin.register(PlanTemplate)
class PlanTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("tier", "name", "updated_at", "updated_by")
    inlines = [PlanTemplateItemInline]
    raw_id_fields = ("updated_by",)


@admin.register(PlanTemplateItem)
class PlanTemplateItemAdmin(SimpleHistoryAdmin):
    list_display = ("template", "activity", "frequency", "owner_role")
    list_filter = ("template__tier", "activity")


class PlanItemInline(admin.TabularInline):
    model = PlanItem
    extra = 0
    raw_id_fields = ("owner",)


class PlanChangeInline(admin.TabularInline):
    model = PlanChange
    extra = 0
    readonly_fields = ("item", "kind", "before", "after", "reason", "at", "user")
    can_delete = False


@admin.register(ServicePlan)
class ServicePlanAdmin(admin.ModelAdmin):
    list_display = ("customer", "year", "tier", "created_at")
    list_filter = ("year", "tier")
    search_fields = ("customer__name",)
    raw_id_fields = ("customer", "created_by")
    inlines = [PlanItemInline, PlanChangeInline]


@admin.register(PlanOccurrence)
class PlanOccurrenceAdmin(admin.ModelAdmin):
    list_display = ("customer", "activity", "seq", "starts_on", "due_date", "status", "owner", "done_on")
    list_filter = ("status", "activity")
    search_fields = ("customer__name",)
    raw_id_fields = ("item", "owner", "customer", "visit")
    date_hierarchy = "due_date"


class VisitFollowUpInline(admin.TabularInline):
    model = VisitFollowUp
    extra = 0
    raw_id_fields = ("task", "service_request")


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("customer", "visited_on", "activity", "purpose", "created_by")
    list_filter = ("activity",)
    search_fields = ("customer__name", "purpose")
    raw_id_fields = ("customer", "account", "created_by")
    filter_horizontal = ("participants",)
    date_hierarchy = "visited_on"
    inlines = [VisitFollowUpInline]
