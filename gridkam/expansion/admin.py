from django.contrib import admin

from .models import ClockStop, Project, ProjectAlert, ProjectStage, TimeLimit


@admin.register(TimeLimit)
class TimeLimitAdmin(admin.ModelAdmin):
    list_display = ["kind", "supply_mode", "stage", "working_days"]
    list_filter = ["kind", "supply_mode"]
    list_editable = ["working_days"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Projects change through the pages and services only (stage order, clock, master data)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "kind", "status", "current_stage", "due_date"]
    list_filter = ["kind", "status", "current_stage"]
    search_fields = ["number", "customer__name"]


@admin.register(ProjectStage)
class ProjectStageAdmin(ReadOnlyAdmin):
    list_display = ["project", "stage", "started_on", "ended_on", "due_date"]


@admin.register(ClockStop)
class ClockStopAdmin(ReadOnlyAdmin):
    list_display = ["project", "started_on", "ended_on", "reason"]


@admin.register(ProjectAlert)
class ProjectAlertAdmin(ReadOnlyAdmin):
    list_display = ["project", "level", "stage", "due_date", "raised_at"]
