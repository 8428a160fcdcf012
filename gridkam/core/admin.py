"""The organisation tree and the statutory days in the Django admin; saves go through the services (sub-unit
paths follow a moved unit; a statutory day edited here becomes "entered", which loads never overwrite)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from gridkam.core.ids import id_from

from .models import OrgUnit, StatutoryDay
from .services import org_unit_save, statutory_day_save
from .workdays import calendar_coverage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through their services (bills, payments, requests): the admin shows them."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The State Council publishes next year's schedule around November; from then on its absence is worth a warning.
NEXT_YEAR_WARNING_MONTH = 11


@admin.register(OrgUnit)
class OrgUnitAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "kind", "parent", "path")
    list_filter = ("kind",)
    search_fields = ("name", "code")
    readonly_fields = ("path",)
    autocomplete_fields = ("parent",)
    ordering = ("path",)

    def save_model(self, request, obj, form, change):
        org_unit_save(unit=obj)


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = sorted({d.year for d in StatutoryDay.objects.dates("day", "year")}, reverse=True)
        return [(str(year), str(year)) for year in years]

    def queryset(self, request, queryset):
        if (year := id_from(self.value())) is not None:
            return queryset.filter(day__year=year)
        return queryset


@admin.register(StatutoryDay)
class StatutoryDayAdmin(SimpleHistoryAdmin):
    list_display = ("day", "weekday", "working", "name", "source")
    list_filter = (YearFilter, "working", "source")
    search_fields = ("name",)
    readonly_fields = ("source",)
    ordering = ("day",)

    @admin.display(description=_("weekday"))
    def weekday(self, obj: StatutoryDay) -> str:
        return WEEKDAYS_ABBR[obj.day.weekday()] if obj.day else ""

    def save_model(self, request, obj, form, change):
        statutory_day_save(day=obj)

    def changelist_view(self, request, extra_context=None):
        today = timezone.localdate()
        years = [today.year] + ([today.year + 1] if today.month >= NEXT_YEAR_WARNING_MONTH else [])
        for year in calendar_coverage().missing(years):
            messages.warning(
                request,
                gettext(
                    "No statutory days for %(year)d: the weekday rule alone decides its working days. Enter the "
                    "State Council's schedule for %(year)d here, or load it with load_statutory_days once the "
                    "chinese-calendar package has it."
                )
                % {"year": year},
            )
        return super().changelist_view(request, extra_context)
