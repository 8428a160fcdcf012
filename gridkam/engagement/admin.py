from django.contrib import admin

from .models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "customer", "assignee", "due_date", "status", "source")
    list_filter = ("status", "source")
    search_fields = ("title", "customer__name")
    raw_id_fields = ("customer", "account", "assignee", "created_by")
