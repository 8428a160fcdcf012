"""Readings imports in the admin: who loaded what, with its counts and rejected rows, and a rollback action."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import ImportBatch
from .services import batch_rollback


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "file_name",
        "file_format",
        "status",
        "created_by",
        "created_at",
        "rows",
        "inserted",
        "updated",
        "unchanged",
        "rejected_count",
    )
    list_filter = ("status", "file_format")
    search_fields = ("file_name", "file_sha256")
    actions = ["rollback"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Roll back the selected imports"))
    def rollback(self, request, queryset):
        # Newest first: a later import must be undone before an earlier one that it changed.
        for batch in queryset.order_by("-pk"):
            try:
                batch_rollback(batch=batch, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"#{batch.pk}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("Import #%(batch)s is rolled back.") % {"batch": batch.pk})
