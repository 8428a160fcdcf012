"""VIP desk appointment pages: the list (day, hall, status; sort; Excel), booking (hall and day → the free
slots of each desk by HTMX → book), one appointment with complete / no-show / cancel, and the halls with
their desks and opening hours (read only here; supervisors and administrators manage them in the Django
admin, linked from the page).

Whoever sees the customer sees its appointments; booking and acting are for staff (portal users: 403);
appointments of customers out of view 404.
"""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer

from . import appointments as svc
from .forms_appointments import AppointmentBookForm, AppointmentNotesForm, SlotQueryForm
from .models import Appointment, AppointmentStatus, ServiceHall
from .permissions import StaffOnlyPageMixin


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None)


EXPORT_COLUMNS = (
    Column(gettext_lazy("Starts"), lambda a: _local(a.starts_at), 18),
    Column(gettext_lazy("Ends"), lambda a: _local(a.ends_at), 18),
    Column(gettext_lazy("Service hall"), lambda a: a.desk.hall.name, 24),
    Column(gettext_lazy("Desk"), lambda a: a.desk.name, 12),
    Column(gettext_lazy("Customer"), lambda a: a.customer.name, 30),
    Column(gettext_lazy("Purpose"), lambda a: a.topic, 30),
    Column(gettext_lazy("Status"), lambda a: a.get_status_display(), 10),
    Column(gettext_lazy("Booked by"), lambda a: str(a.booked_by or ""), 12),
)


class AppointmentFilterSet(django_filters.FilterSet):
    day = django_filters.DateFilter(field_name="starts_at", lookup_expr="date", label=gettext_lazy("Day"))
    hall = django_filters.NumberFilter(field_name="desk__hall_id", label=gettext_lazy("Service hall"), min_value=1)
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices, label=gettext_lazy("Status"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=gettext_lazy("Customer"), min_value=1)

    class Meta:
        model = Appointment
        fields = ["day", "hall", "status", "customer"]


def _appointment_or_404(user, pk) -> Appointment:
    try:
        return svc.appointment_for_user(user=user, pk=pk)
    except Appointment.DoesNotExist:
        raise Http404 from None


class AppointmentListView(FilteredListView):
    template_name = "servicedesk/appointment_list.html"
    filterset_class = AppointmentFilterSet
    sort_fields = {"starts": "starts_at", "created": "created_at"}
    default_sort = "starts"
    export_columns = EXPORT_COLUMNS
    export_filename = "appointments"
    export_title = gettext_lazy("VIP desk appointments")

    def base_queryset(self):
        return svc.appointments_visible(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav="service",
            rows=list(context["object_list"]),
            halls=ServiceHall.objects.order_by("name"),
            statuses=AppointmentStatus.choices,
            can_book=not self.request.user.is_customer_user,
        )
        return context


class AppointmentBookView(StaffOnlyPageMixin, View):
    template_name = "servicedesk/appointment_form.html"

    def preselected(self, request) -> Customer | None:
        raw = request.GET.get("customer", "") or request.POST.get("customer", "")
        if (customer_id := id_from(raw)) is not None:
            return Customer.objects.visible_to(request.user).filter(pk=customer_id).first()
        return None

    def context(self, request, form, status=200):
        query = SlotQueryForm(request.GET or None)
        return render(
            request,
            self.template_name,
            {"nav": "service", "form": form, "query": query, "halls": ServiceHall.objects.order_by("name")},
            status=status,
        )

    def get(self, request):
        customer = self.preselected(request)
        return self.context(request, AppointmentBookForm(user=request.user, customer=customer))

    def post(self, request):
        data = request.POST.copy()
        desk, _sep, start = data.get("slot", "").partition("|")
        if desk and start:  # a slot button of the slots partial: "desk id|ISO start"
            data["desk"], data["starts_at"] = desk, start
        form = AppointmentBookForm(data, user=request.user, customer=self.preselected(request))
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = svc.appointment_book(
                    desk=data["desk"],
                    customer=data["customer"],
                    account=data["account"],
                    starts_at=data["starts_at"],
                    length=data["length"],
                    topic=data["topic"],
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                    user=request.user,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Appointment booked."))
                return redirect("servicedesk:appointment_detail", pk=appointment.pk)
        return self.context(request, form, status=400)


class AppointmentSlotsView(StaffOnlyPageMixin, View):
    """The HTMX partial: the free slots of each desk of the chosen hall on the chosen day."""

    def get(self, request):
        query = SlotQueryForm(request.GET)
        rows = []
        if query.is_valid():
            data = query.cleaned_data
            rows = svc.slots(data["hall"], data["day"], data["length"])
        return render(request, "servicedesk/appointment_slots.html", {"query": query, "rows": rows})


class AppointmentDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        appointment = _appointment_or_404(request.user, pk)
        return render(request, "servicedesk/appointment_detail.html", self.context(request, appointment))

    @staticmethod
    def context(request, appointment, form=None):
        acting = svc.can_act(request.user, appointment) and appointment.status == AppointmentStatus.BOOKED
        return {
            "nav": "service",
            "appointment": appointment,
            "can_act": acting,
            "started": timezone.now() >= appointment.starts_at,
            "form": form or AppointmentNotesForm(),
        }


class AppointmentActionView(StaffOnlyPageMixin, View):
    ACTIONS = ("complete", "no-show", "cancel")

    def post(self, request, pk, action):
        if action not in self.ACTIONS:
            raise Http404
        appointment = _appointment_or_404(request.user, pk)
        if not svc.can_act(request.user, appointment):
            raise PermissionDenied
        form = AppointmentNotesForm(request.POST)
        if form.is_valid():
            notes = form.cleaned_data["notes"]
            try:
                if action == "complete":
                    svc.appointment_complete(appointment=appointment, user=request.user, notes=notes)
                elif action == "no-show":
                    svc.appointment_no_show(appointment=appointment, user=request.user)
                else:
                    svc.appointment_cancel(appointment=appointment, user=request.user, notes=notes or None)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("servicedesk:appointment_detail", pk=appointment.pk)
        context = AppointmentDetailView.context(request, appointment, form)
        return render(request, "servicedesk/appointment_detail.html", context, status=400)


class HallListView(StaffOnlyPageMixin, View):
    def get(self, request):
        halls = list(svc.halls_visible(request.user))
        return render(
            request,
            "servicedesk/hall_list.html",
            {"nav": "service", "halls": halls, "can_manage": svc.can_manage_halls(request.user)},
        )
