"""Power-quality pages: staff see the events of the customers they see (list, detail, chart, import, an account's
summary); staff who change master data record, edit and open a service request for an event; customers' portal
users see their accounts' events and report new ones. Customers' portal users get 403 on staff pages, staff get
403 on portal pages, and events of customers out of view answer 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import ElectricityAccount

from . import selectors, services
from .choices import PqKind, PqSource, Severity
from .filters import PowerQualityEventFilterSet
from .forms import EventForm, ImportForm, OpenRequestForm, PortalReportForm
from .imports import column_help, pq_import
from .models import PowerQualityEvent, PqImport


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


EXPORT_COLUMNS = (
    Column(gettext_lazy("Start"), lambda e: _local(e.started_at), 20),
    Column(gettext_lazy("Kind"), lambda e: e.get_kind_display(), 14),
    Column(gettext_lazy("Customer"), lambda e: e.account.customer.name, 30),
    Column(gettext_lazy("Account"), lambda e: e.account.account_no, 14),
    Column(gettext_lazy("Metering point"), lambda e: e.metering_point.code if e.metering_point_id else "", 14),
    Column(gettext_lazy("Duration (ms)"), lambda e: e.duration_ms, 12),
    Column(gettext_lazy("Residual voltage (%)"), lambda e: e.residual_pct, 12),
    Column(gettext_lazy("Measured value"), lambda e: e.value, 12),
    Column(gettext_lazy("Unit"), lambda e: e.unit, 6),
    Column(gettext_lazy("Limit"), lambda e: e.applied_limit, 8),
    Column(gettext_lazy("Phase(s)"), lambda e: e.phases, 6),
    Column(gettext_lazy("Severity"), lambda e: e.get_severity_display(), 12),
    Column(gettext_lazy("Outside tolerance"), lambda e: _("yes") if e.outside_tolerance else _("no"), 10),
    Column(gettext_lazy("Source"), lambda e: e.get_source_display(), 16),
    Column(gettext_lazy("Production stopped"), lambda e: _("yes") if e.production_stopped else _("no"), 10),
    Column(gettext_lazy("Estimated loss (yuan)"), lambda e: e.loss_yuan, 14),
    Column(gettext_lazy("Service request"), lambda e: e.service_request.number if e.service_request_id else "", 16),
)


def _event_or_404(user, pk) -> PowerQualityEvent:
    try:
        return selectors.event_get(user=user, pk=pk)
    except PowerQualityEvent.DoesNotExist:
        raise Http404 from None


class RecorderMixin(StaffOnlyMixin):
    """Pages that write events: staff whose role changes master data (others 403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not services.can_record(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PortalOnlyMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _filter_context() -> dict:
    return {
        "kinds": PqKind.choices,
        "sources": PqSource.choices,
        "severities": Severity.choices,
    }


class EventListView(StaffOnlyMixin, FilteredListView):
    template_name = "powerquality/event_list.html"
    filterset_class = PowerQualityEventFilterSet
    sort_fields = {
        "start": "started_at",
        "duration": "duration_ms",
        "residual": "residual_pct",
        "customer": "account__customer__name",
    }
    default_sort = "-start"
    nulls_last = True
    export_columns = EXPORT_COLUMNS
    export_filename = "power-quality-events"
    export_title = gettext_lazy("Power-quality events")

    def base_queryset(self):
        return selectors.events_visible(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="grid", can_record=services.can_record(self.request.user), **_filter_context())
        return context


class EventChartView(StaffOnlyMixin, View):
    """The sag scatter against the tolerance curve and events per month by kind, for the filtered events."""

    def get(self, request):
        data = QueryDict(mutable=True)
        for key, values in request.GET.lists():
            if kept := [value for value in values if value != ""]:
                data.setlist(key, kept)
        events = PowerQualityEvent.objects.visible_to(request.user)
        filterset = PowerQualityEventFilterSet(data or None, queryset=events, request=request)
        if filterset.is_bound and filterset.is_valid():
            events = filterset.qs
        chart = selectors.chart_data(events)
        chart["labels"] = {
            "inside": _("Inside the curve"),
            "outside": _("Outside the curve"),
            "curve": _("Tolerance curve"),
            "duration": _("Duration (ms)"),
            "residual": _("Residual voltage (%)"),
            "none": _("No events"),
        }
        context = {
            "nav": "grid",
            "filter": filterset,
            "chart": chart,
            "curve": services.sag_curve(),
            **_filter_context(),
        }
        return render(request, "powerquality/event_chart.html", context)


class EventDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        event = _event_or_404(request.user, pk)
        return render(
            request, "powerquality/event_detail.html", self.context(request, event, OpenRequestForm(compact=True))
        )

    @staticmethod
    def context(request, event, form) -> dict:
        return {
            "nav": "grid",
            "event": event,
            "can_record": services.can_record(request.user, event.account.customer),
            "request_form": form,
        }


class EventFormView(RecorderMixin, View):
    template = "powerquality/event_form.html"

    def get(self, request, pk=None):
        event = _event_or_404(request.user, pk) if pk else None
        initial = {}
        if event is None and (account := id_from(request.GET.get("account"))) is not None:
            initial["account"] = account
        form = EventForm(instance=event, initial=initial, user=request.user)
        return render(request, self.template, {"nav": "grid", "form": form, "event": event})

    def post(self, request, pk=None):
        event = _event_or_404(request.user, pk) if pk else PowerQualityEvent()
        form = EventForm(request.POST, instance=event, user=request.user)
        if form.is_valid():
            try:
                saved = services.event_save(event=form.instance, user=request.user)
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("powerquality:event_detail", pk=saved.pk)
        context = {"nav": "grid", "form": form, "event": event if event.pk else None}
        return render(request, self.template, context, status=400)


class EventOpenRequestView(RecorderMixin, View):
    """POST: open the event's service request (once; a second click shows the one already linked)."""

    def post(self, request, pk):
        event = _event_or_404(request.user, pk)
        form = OpenRequestForm(request.POST, compact=True)
        if not form.is_valid():
            return render(
                request, "powerquality/event_detail.html", EventDetailView.context(request, event, form), status=400
            )
        try:
            sr, created = services.event_open_request(
                event=event, user=request.user, priority=form.cleaned_data["priority"] or None
            )
        except PermissionError:
            raise PermissionDenied from None
        except ValidationError as error:
            add_service_errors(form, error)
            return render(
                request, "powerquality/event_detail.html", EventDetailView.context(request, event, form), status=400
            )
        if created:
            messages.success(request, _("Service request %(number)s opened.") % {"number": sr.number})
        else:
            messages.info(request, _("This event already has service request %(number)s.") % {"number": sr.number})
        return redirect("powerquality:event_detail", pk=event.pk)


class ImportView(RecorderMixin, View):
    template = "powerquality/import_form.html"

    def get(self, request):
        return render(request, self.template, {"nav": "grid", "form": ImportForm(), "columns": column_help()})

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template, {"nav": "grid", "form": form, "columns": column_help()}, status=400)
        upload = form.cleaned_data["file"]
        batch = pq_import(data=upload.read(), file_name=upload.name, user=request.user)
        return redirect("powerquality:import_detail", pk=batch.pk)


class ImportDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        try:
            batch = selectors.import_get(user=request.user, pk=pk)
        except PqImport.DoesNotExist:
            raise Http404 from None
        events = list(batch.events.select_related("account__customer", "metering_point").order_by("started_at")[:50])
        return render(request, "powerquality/import_detail.html", {"nav": "grid", "batch": batch, "events": events})


class AccountSummaryView(StaffOnlyMixin, View):
    """An account's events of the last 12 months by kind: a partial for the customer 360 (HTMX) or a page."""

    def get(self, request, pk):
        account = ElectricityAccount.objects.visible_to(request.user).select_related("customer").filter(pk=pk).first()
        if account is None:
            raise Http404
        summary = selectors.account_summary(user=request.user, account=account)
        context = {"nav": "grid", "account": account, "summary": summary}
        if getattr(request, "htmx", False) and not request.htmx.boosted:
            return render(request, "powerquality/_account_summary.html", context)
        return render(request, "powerquality/account_summary.html", context)


# --- Portal -----------------------------------------------------------------------------------------------------


class PortalListView(PortalOnlyMixin, View):
    """The portal user's accounts' events, newest first (the last 100)."""

    def get(self, request):
        events = list(selectors.events_visible(request.user)[:100])
        return render(request, "powerquality/portal_list.html", {"portal_nav": "power_quality", "events": events})


class PortalReportView(PortalOnlyMixin, View):
    template = "powerquality/portal_report.html"

    def get(self, request):
        form = PortalReportForm(user=request.user, initial={"started_at": timezone.localtime().replace(microsecond=0)})
        return render(request, self.template, {"portal_nav": "power_quality", "form": form})

    def post(self, request):
        form = PortalReportForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = services.event_report(
                    account=data["account"],
                    kind=data["kind"],
                    started_at=data["started_at"],
                    duration_ms=data["duration_ms"],
                    phases=data["phases"],
                    description=data["description"],
                    production_stopped=data["production_stopped"],
                    loss_yuan=data["loss_yuan"],
                    open_request=data["open_request"],
                    user=request.user,
                )
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if event.service_request_id:
                    messages.success(
                        request,
                        _("Thank you. Your report was logged as service request %(number)s.")
                        % {"number": event.service_request.number},
                    )
                else:
                    messages.success(request, _("Thank you. Your report was recorded."))
                return redirect("powerquality:portal_list")
        return render(request, self.template, {"portal_nav": "power_quality", "form": form}, status=400)
