from django.contrib import admin

from .models import Survey, SurveyTemplate


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(admin.ModelAdmin):
    """Administrators switch a template off or change how long its surveys stay open; the questions are built in."""

    list_display = ("kind", "asks_satisfaction", "asks_nps", "dimensions", "valid_days", "active")
    readonly_fields = ("kind", "asks_satisfaction", "asks_nps", "dimensions")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("kind", "customer", "year", "recipient_name", "sent_at", "expires_at", "answered_at", "nps")
    list_filter = ("kind", "year", "tier")
    search_fields = ("customer__name", "recipient_name", "email")
    raw_id_fields = ("customer", "request", "recipient", "contact", "sent_by", "manager", "team", "answered_by")
    # Answers are the customer's words: read here, never edited.
    readonly_fields = (
        "answered_at",
        "answered_by",
        "satisfaction",
        "nps",
        "reliability_score",
        "responsiveness_score",
        "billing_clarity_score",
        "account_manager_score",
        "comment",
        "rated_elsewhere",
    )
