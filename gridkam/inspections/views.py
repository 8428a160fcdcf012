"""Inspection pages.

Staff (portal users get 403): the due inspections (``due``), the plan rules (``rules``; supervisors and
administrators change them), inspections (``inspection_list``, ``inspection_detail``, ``inspection_create``),
photos (``photo``, access-checked), dangers (``danger_list`` with the chart, ``danger_detail`` with its history and
actions, ``danger_notice`` the printable rectification notice, ``danger_reinspect``), and important users without
adequate emergency power (``emergency_power``). Portal users (staff get 403): their customers' dangers
(``portal_list``) and notices (``portal_notice``), read-only. An object the user may not see is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from gridkam.core.downloads import attachment_response
from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.choices import Tier
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer

from .choices import DANGER_STEPS, REINSPECTABLE, DangerStatus, Severity
from .forms import AdvanceForm, InspectionForm, IntervalsForm, NoticeDeliveryForm, ReinspectForm
from .models import HiddenDanger, Inspection, InspectionInterval, InspectionPhoto
from .selectors import (
    DangerFilterSet,
    DueFilterSet,
    EmergencyFilterSet,
    InspectionFilterSet,
    danger_chart,
    danger_get,
    danger_list,
    due_inspections,
    emergency_power_gaps,
    emergency_ratio,
    inspection_get,
    inspection_list,
    photo_for_user,
    portal_dangers,
)
from .services import (
    danger_advance,
    danger_deliver_notice,
    danger_reinspect,
    inspection_record,
    intervals_save,
    may_edit_rules,
    may_record,
)

NAV = "grid"


class PortalOnlyMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class RecorderMixin(StaffOnlyMixin):
    """Writes: field engineers, account managers, supervisors and administrators (clerks get 403)."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not user.is_customer_user and not may_record(user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _danger_or_404(user, pk: int) -> HiddenDanger:
    try:
        return danger_get(user=user, pk=pk)
    except HiddenDanger.DoesNotExist:
        raise Http404 from None


# --- Plan ----------------------------------------------------------------------------------------------------------

DUE_COLUMNS = (
    Column(gettext_lazy("Customer"), lambda c: c.name, 30),
    Column(gettext_lazy("Tier"), lambda c: c.get_tier_display(), 10),
    Column(gettext_lazy("Importance class"), lambda c: c.get_importance_class_display(), 18),
    Column(gettext_lazy("Account manager"), lambda c: c.manager_name or "", 12),
    Column(gettext_lazy("Interval (months)"), lambda c: c.interval_months, 10),
    Column(gettext_lazy("Last inspection"), lambda c: c.last_inspection, 12),
    Column(gettext_lazy("Next due"), lambda c: c.next_due, 12),
    Column(gettext_lazy("Overdue"), lambda c: _("yes") if c.overdue else "", 8),
)


class DueListView(StaffOnlyMixin, FilteredListView):
    """The customers with their next periodic inspection, never-inspected and soonest due first."""

    template_name = "inspections/due_list.html"
    filterset_class = DueFilterSet
    sort_fields = {"next_due": "next_due", "customer": "name", "last": "last_inspection"}
    default_sort = "next_due"
    export_columns = DUE_COLUMNS
    export_filename = "due-inspections"
    export_title = gettext_lazy("Due inspections")

    def base_queryset(self):
        return due_inspections(user=self.request.user)

    def get_queryset(self):
        qs = super().get_queryset()
        sort = self.get_sort()
        if sort.lstrip("-") == "next_due":
            # Never inspected means due now: first whichever way the column is sorted.
            due = F("next_due")
            qs = qs.order_by(due.desc(nulls_first=True) if sort.startswith("-") else due.asc(nulls_first=True), "pk")
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            nav=NAV,
            today=timezone.localdate(),
            tier_choices=Tier.choices,
            chosen_tiers=self.filter_data().getlist("tier"),
            can_record=may_record(self.request.user),
        )
        return context


class RulesView(StaffOnlyMixin, View):
    """The plan matrix: months between periodic inspections per importance class and tier."""

    def current(self) -> dict[tuple[str, str], int]:
        return {(r.tier, r.importance_class): r.interval_months for r in InspectionInterval.objects.all()}

    def render(self, request, form, status=200):
        return render(
            request,
            "inspections/rules.html",
            {"nav": NAV, "form": form, "tiers": Tier.choices, "can_edit": may_edit_rules(request.user)},
            status=status,
        )

    def get(self, request):
        return self.render(request, IntervalsForm(current=self.current()))

    def post(self, request):
        if not may_edit_rules(request.user):
            raise PermissionDenied
        form = IntervalsForm(request.POST, current=self.current())
        if not form.is_valid():
            return self.render(request, form)
        try:
            changed = intervals_save(values=form.values(), user=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.render(request, form)
        messages.success(request, _("Inspection plan saved: %(n)s rules changed.") % {"n": changed})
        return redirect("inspections:rules")


# --- Inspections ----------------------------------------------------------------------------------------------------

INSPECTION_COLUMNS = (
    Column(gettext_lazy("Date"), lambda i: i.date, 12),
    Column(gettext_lazy("Kind"), lambda i: i.get_kind_display(), 12),
    Column(gettext_lazy("Customer"), lambda i: i.customer.name, 30),
    Column(gettext_lazy("Inspector"), lambda i: str(i.inspector), 12),
    Column(gettext_lazy("Failed items"), lambda i: i.failed, 8),
    Column(gettext_lazy("Dangers raised"), lambda i: i.danger_count, 8),
    Column(gettext_lazy("Conclusion"), lambda i: i.conclusion, 40),
)


class InspectionListView(StaffOnlyMixin, FilteredListView):
    template_name = "inspections/inspection_list.html"
    filterset_class = InspectionFilterSet
    sort_fields = {"date": "date", "customer": "customer__name"}
    default_sort = "-date"
    export_columns = INSPECTION_COLUMNS
    export_filename = "inspections"
    export_title = gettext_lazy("Inspections")

    def base_queryset(self):
        return inspection_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": NAV, "can_record": may_record(self.request.user)}


class InspectionDetailView(StaffOnlyMixin, View):
    def get(self, request, pk: int):
        try:
            inspection = inspection_get(user=request.user, pk=pk)
        except Inspection.DoesNotExist:
            raise Http404 from None
        return render(request, "inspections/inspection_detail.html", {"nav": NAV, "inspection": inspection})


class InspectionCreateView(RecorderMixin, FormView):
    template_name = "inspections/inspection_form.html"
    form_class = InspectionForm

    def get_form_kwargs(self):
        kwargs = {**super().get_form_kwargs(), "user": self.request.user}
        customer_id = id_from(self.request.GET.get("customer"))
        if customer_id is not None:
            kwargs["customer"] = Customer.objects.visible_to(self.request.user).filter(pk=customer_id).first()
        return kwargs

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            inspection = inspection_record(
                customer=data["customer"],
                date=data["date"],
                kind=data["kind"],
                inspector=data["inspector"],
                user=self.request.user,
                results=form.results(),
                conclusion=data["conclusion"],
                dangers=form.dangers(),
                photos=data["photos"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Inspection recorded."))
        return redirect("inspections:inspection_detail", pk=inspection.pk)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": NAV}


class PhotoView(StaffOnlyMixin, View):
    """A photo of an inspection the user sees; 404 otherwise."""

    def get(self, request, pk: int):
        try:
            photo = photo_for_user(user=request.user, pk=pk)
        except InspectionPhoto.DoesNotExist:
            raise Http404 from None
        return attachment_response(request, photo)


# --- Dangers --------------------------------------------------------------------------------------------------------

DANGER_COLUMNS = (
    Column(gettext_lazy("Notice number"), lambda d: d.number, 14),
    Column(gettext_lazy("Customer"), lambda d: d.customer.name, 30),
    Column(gettext_lazy("Account manager"), lambda d: d.manager_name or "", 12),
    Column(gettext_lazy("Found on"), lambda d: d.inspection.date, 12),
    Column(gettext_lazy("Severity"), lambda d: d.get_severity_display(), 10),
    Column(gettext_lazy("Description"), lambda d: d.description, 40),
    Column(gettext_lazy("Legal basis"), lambda d: d.get_legal_basis_display(), 24),
    Column(gettext_lazy("Rectification deadline"), lambda d: d.deadline, 12),
    Column(gettext_lazy("Status"), lambda d: d.get_status_display(), 12),
    Column(gettext_lazy("Overdue"), lambda d: _("yes") if d.overdue else "", 8),
    Column(gettext_lazy("Escalation"), lambda d: d.get_escalation_level_display(), 14),
    Column(gettext_lazy("Notice delivered"), lambda d: d.notice_delivered_on, 12),
    Column(gettext_lazy("Closed on"), lambda d: d.closed_on, 12),
)


class DangerListView(StaffOnlyMixin, FilteredListView):
    template_name = "inspections/danger_list.html"
    filterset_class = DangerFilterSet
    sort_fields = {
        "deadline": "deadline",
        "number": "number",
        "customer": "customer__name",
        "severity": "severity",
        "found": "inspection__date",
    }
    default_sort = "deadline"
    export_columns = DANGER_COLUMNS
    export_filename = "hidden-dangers"
    export_title = gettext_lazy("Hidden dangers")

    def base_queryset(self):
        return danger_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filtered = self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else self.base_queryset()
        chart = danger_chart(filtered)
        chart["labels"] = {"none": _("No open danger."), "days": _("Age since found")}
        context.update(
            nav=NAV,
            chart=chart,
            severity_choices=Severity.choices,
            status_choices=DangerStatus.choices,
            chosen_severity=self.filter_data().getlist("severity"),
            chosen_status=self.filter_data().getlist("status"),
        )
        return context


class DangerDetailView(StaffOnlyMixin, View):
    def get(self, request, pk: int):
        danger = _danger_or_404(request.user, pk)
        return self.show(request, danger)

    def show(self, request, danger, *, notice_form=None, advance_form=None, status=200):
        can = may_record(request.user)
        steps = DANGER_STEPS.get(danger.status, ())
        if advance_form is None and steps:
            advance_form = AdvanceForm()
        if advance_form is not None:
            advance_form.fields["status"].choices = [(s, label) for s, label in DangerStatus.choices if s in steps]
        return render(
            request,
            "inspections/danger_detail.html",
            {
                "nav": NAV,
                "danger": danger,
                "can_record": can,
                "notice_form": notice_form or NoticeDeliveryForm(initial={"delivered_on": timezone.localdate()}),
                "advance_form": advance_form if steps else None,
                "can_reinspect": can and danger.status in REINSPECTABLE,
                "can_deliver": can and danger.status != DangerStatus.CLOSED,
            },
            status=status,
        )


class DangerNoticeDeliverView(RecorderMixin, DangerDetailView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        danger = _danger_or_404(request.user, pk)
        form = NoticeDeliveryForm(request.POST)
        if form.is_valid():
            try:
                danger_deliver_notice(
                    danger=danger,
                    delivered_on=form.cleaned_data["delivered_on"],
                    signed_by=form.cleaned_data["signed_by"],
                    user=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Delivery of the notice recorded."))
                return redirect("inspections:danger_detail", pk=pk)
        return self.show(request, danger, notice_form=form)


class DangerAdvanceView(RecorderMixin, DangerDetailView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        danger = _danger_or_404(request.user, pk)
        form = AdvanceForm(request.POST)
        form.fields["status"].choices = [(s, s) for s in DANGER_STEPS.get(danger.status, ())]
        if form.is_valid():
            try:
                danger_advance(
                    danger=danger, to=form.cleaned_data["status"], user=request.user, note=form.cleaned_data["note"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Status changed."))
                return redirect("inspections:danger_detail", pk=pk)
        return self.show(request, danger, advance_form=form)


class NoticeBase(View):
    """The printable rectification notice (隐患整改通知书)."""

    base = "base.html"

    def get_danger(self, request, pk):
        return _danger_or_404(request.user, pk)

    def get(self, request, pk: int):
        danger = self.get_danger(request, pk)
        return render(
            request,
            "inspections/danger_notice.html",
            {"nav": NAV, "portal_nav": "dangers", "danger": danger, "base_template": self.base},
        )


class DangerReinspectView(RecorderMixin, FormView):
    template_name = "inspections/danger_reinspect.html"
    form_class = ReinspectForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            self.danger = _danger_or_404(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            danger_reinspect(
                danger=self.danger,
                user=self.request.user,
                inspector=data["inspector"],
                date=data["date"],
                passed=data["passed"],
                remark=data["remark"],
                new_deadline=data["new_deadline"],
                photos=data["photos"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Re-inspection recorded."))
        return redirect("inspections:danger_detail", pk=self.danger.pk)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "nav": NAV,
            "danger": self.danger,
            "reinspectable": self.danger.status in REINSPECTABLE,
        }


# --- Emergency power ------------------------------------------------------------------------------------------------

EMERGENCY_COLUMNS = (
    Column(gettext_lazy("Customer"), lambda c: c.name, 30),
    Column(gettext_lazy("Importance class"), lambda c: c.get_importance_class_display(), 18),
    Column(gettext_lazy("Account manager"), lambda c: c.manager_name or "", 12),
    Column(gettext_lazy("Security load (kW)"), lambda c: c.security_load_kw, 12),
    Column(gettext_lazy("Emergency power (kW)"), lambda c: c.emergency_power_kw, 12),
    Column(gettext_lazy("Required (kW)"), lambda c: c.required_kw, 12),
    Column(gettext_lazy("Shortfall (kW)"), lambda c: c.shortfall_kw if c.shortfall_kw is not None else "", 12),
    Column(gettext_lazy("Gap"), lambda c: gap_label(c), 30),
)


def gap_label(customer) -> str:
    if customer.emergency_power_kw <= 0:
        return _("No self-provided emergency power is recorded.")
    if customer.security_load_kw <= 0:
        return _("The security load is unknown, so emergency power cannot be checked.")
    return _("Below the required share of the security load.")


class EmergencyPowerListView(StaffOnlyMixin, FilteredListView):
    template_name = "inspections/emergency_power.html"
    filterset_class = EmergencyFilterSet
    sort_fields = {"customer": "name", "shortfall": "shortfall_kw", "class": "importance_class"}
    default_sort = "class"
    export_columns = EMERGENCY_COLUMNS
    export_filename = "emergency-power-gaps"
    export_title = gettext_lazy("Emergency power gaps")

    def base_queryset(self):
        return emergency_power_gaps(user=self.request.user)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "nav": NAV,
            "ratio_percent": int(emergency_ratio() * 100),
        }


# --- Portal ---------------------------------------------------------------------------------------------------------


class PortalDangerListView(PortalOnlyMixin, View):
    def get(self, request):
        dangers = list(portal_dangers(user=request.user)[:200])
        return render(
            request,
            "inspections/portal_list.html",
            {
                "portal_nav": "dangers",
                "open": [d for d in dangers if d.status != DangerStatus.CLOSED],
                "closed": [d for d in dangers if d.status == DangerStatus.CLOSED],
            },
        )


class DangerNoticeView(StaffOnlyMixin, NoticeBase):
    pass


class PortalNoticeView(PortalOnlyMixin, NoticeBase):
    base = "portal/base.html"
