"""Service desk in the admin: read-mostly views for support; requests change only through the services
(state machine, events and SLA fields stay consistent)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from gridkam.core.admin import ReadOnlyAdmin

from .models import RequestAttachment, RequestEvent, RequestPause, ServiceRequest, SlaPolicy


class EventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "internal", "body"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["number", "customer", "request_type", "priority", "status", "assignee", "created_at"]
    list_filter = ["status", "request_type", "priority", "channel"]
    search_fields = ["number", "customer__name", "title"]
    list_select_related = ["customer", "assignee"]
    inlines = [EventInline]


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    list_display = ["request", "kind", "at", "actor", "internal"]
    list_filter = ["kind", "internal"]
    list_select_related = ["request", "actor"]


@admin.register(RequestPause)
class RequestPauseAdmin(ReadOnlyAdmin):
    list_display = ["request", "started_at", "ended_at"]
    list_select_related = ["request"]


@admin.register(RequestAttachment)
class RequestAttachmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "request", "content_type", "size", "internal", "uploaded_at"]
    list_select_related = ["request"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    list_display = [
        "tier",
        "request_type",
        "priority",
        "clock",
        "response_minutes",
        "onsite_minutes",
        "resolution_minutes",
    ]
    list_filter = ["tier", "request_type", "priority", "clock"]


# --- VIP desk: halls, desks and opening hours are managed here by supervisors and administrators ---

from .models import Appointment, Desk, OpeningHours, ServiceHall  # noqa: E402


class DeskInline(admin.TabularInline):
    model = Desk
    extra = 1


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 1


@admin.register(ServiceHall)
class ServiceHallAdmin(admin.ModelAdmin):
    list_display = ["name", "org_unit", "address", "phone"]
    search_fields = ["name", "address"]
    inlines = [DeskInline, OpeningHoursInline]


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["starts_at", "desk", "customer", "status"]
    list_filter = ["status"]
