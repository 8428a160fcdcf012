"""Outage pages.

Staff (portal users get 403): the outage list with the monthly chart and the late announcements, the outage form
(supervisors and administrators), the outage page (affected accounts, notices, who has not acknowledged, announce,
actual times, cancel, phone acknowledgements and follow-ups), the feeders and the supply import. Portal users (staff
get 403): their outage notices and the acknowledgement. An outage, feeder or notice the user does not see is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.form_views import add_service_errors

from .choices import OutageKind, OutageStatus
from .forms import ActualTimesForm, AnnounceForm, CancelForm, FollowUpForm, OutageForm, PhoneAckForm, SupplyImportForm
from .models import Feeder, Outage, OutageNotice
from .selectors import (
    FeederFilterSet,
    OutageFilterSet,
    affected_accounts,
    breach_count,
    feeder_accounts,
    feeder_get,
    feeder_list,
    notice_get,
    outage_feeder_ids,
    outage_get,
    outage_list,
    outage_notices,
    outages_per_month,
    portal_notices,
)
from .services import (
    SUPPLY_COLUMNS,
    can_follow_up,
    can_plan,
    follow_up_customer_ids,
    important_lead_hours,
    notice_acknowledge,
    notice_follow_up,
    outage_announce,
    outage_cancel,
    outage_record_actual,
    outage_save,
    planned_lead_days,
    supplies_import,
)


class PortalOnlyMixin(LoginRequiredMixin):
    """Pages of the customer's portal: staff have none (403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PlannerMixin(StaffOnlyMixin):
    """Pages that change outages or the grid: supervisors and administrators (others 403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user and not can_plan(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _outage_or_404(user, pk) -> Outage:
    try:
        return outage_get(user=user, pk=pk)
    except Outage.DoesNotExist:
        raise Http404 from None


# --- List -------------------------------------------------------------------------------------------------------


def _feeder_codes(outage: Outage) -> str:
    return ", ".join(f.code for f in outage.feeders.all())


OUTAGE_COLUMNS = (
    Column(gettext_lazy("Number"), lambda o: o.number, 16),
    Column(gettext_lazy("Kind"), lambda o: o.get_kind_display(), 14),
    Column(gettext_lazy("Status"), lambda o: o.get_status_display(), 10),
    Column(gettext_lazy("Feeders"), _feeder_codes, 24),
    Column(gettext_lazy("Planned start"), lambda o: o.planned_start, 18),
    Column(gettext_lazy("Planned end"), lambda o: o.planned_end, 18),
    Column(gettext_lazy("Reason"), lambda o: o.reason, 30),
    Column(gettext_lazy("Area out of supply"), lambda o: o.scope, 30),
    Column(gettext_lazy("Announced"), lambda o: o.announced_at, 18),
    Column(gettext_lazy("Announced late"), lambda o: _("Yes") if o.lead_breach else "", 8),
    Column(gettext_lazy("Reason for the late announcement"), lambda o: o.late_reason, 24),
    Column(gettext_lazy("Notices"), lambda o: o.notice_count, 8),
    Column(gettext_lazy("Not acknowledged"), lambda o: o.unacknowledged, 8),
    Column(gettext_lazy("Actual start"), lambda o: o.actual_start, 18),
    Column(gettext_lazy("Actual end"), lambda o: o.actual_end, 18),
    Column(gettext_lazy("Duration (minutes)"), lambda o: o.duration_minutes, 10),
)


class OutageListView(StaffOnlyMixin, FilteredListView):
    """The outages of the user's unit: filters, sorting, Excel, outages per month by kind, late announcements."""

    template_name = "outages/outage_list.html"
    filterset_class = OutageFilterSet
    sort_fields = {"planned_start": "planned_start", "number": "number", "kind": "kind", "status": "status"}
    default_sort = "-planned_start"
    export_columns = OUTAGE_COLUMNS
    export_filename = "outages"
    export_title = gettext_lazy("Outages")

    def base_queryset(self):
        return outage_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mine = outage_list(user=self.request.user)
        chart = outages_per_month(mine)
        context.update(
            nav="grid",
            can_plan=can_plan(self.request.user),
            breaches=breach_count(mine),
            lead_days=planned_lead_days(),
            lead_hours=important_lead_hours(),
            feeders=Feeder.objects.visible_to(self.request.user).order_by("code"),
            chart={
                "months": chart["months"],
                "series": [{"name": str(label), "data": chart["series"][kind]} for kind, label in OutageKind.choices],
            },
        )
        return context


# --- Form -------------------------------------------------------------------------------------------------------


class OutageFormView(PlannerMixin, View):
    """Create an outage (a draft), or change a draft or announced one."""

    def get_outage(self, pk) -> Outage:
        if pk is None:
            return Outage()
        outage = _outage_or_404(self.request.user, pk)
        if not outage.editable:
            raise PermissionDenied
        return outage

    def respond(self, form, outage):
        if form.is_bound:
            feeder_ids = [f.pk for f in form.cleaned_data.get("feeders", [])] if hasattr(form, "cleaned_data") else []
        else:
            feeder_ids = outage_feeder_ids(outage) if outage.pk else []
        return render(
            self.request,
            "outages/outage_form.html",
            {
                "form": form,
                "outage": outage,
                "nav": "grid",
                "affected": affected_accounts(feeder_ids=feeder_ids, user=self.request.user),
                "preview": True,
            },
        )

    def get(self, request, pk=None):
        outage = self.get_outage(pk)
        return self.respond(OutageForm(instance=outage, user=request.user), outage)

    def post(self, request, pk=None):
        outage = self.get_outage(pk)
        form = OutageForm(request.POST, instance=outage, user=request.user)
        if form.is_valid():
            try:
                saved = outage_save(outage=form.instance, feeders=form.cleaned_data["feeders"], user=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Outage %(number)s saved.") % {"number": saved.number})
                return redirect("outages:outage_detail", pk=saved.pk)
        return self.respond(form, outage)


class AffectedPreviewView(StaffOnlyMixin, View):
    """The accounts on the chosen feeders (the form's live preview, an HTMX partial)."""

    def get(self, request):
        ids = [pk for pk in map(id_from, request.GET.getlist("feeders")) if pk is not None]
        visible = list(Feeder.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        return render(
            request,
            "outages/_affected.html",
            {"affected": affected_accounts(feeder_ids=visible, user=request.user), "preview": True},
        )


# --- Detail and actions -----------------------------------------------------------------------------------------


def _detail(request, outage: Outage, *, status: int = 200, **forms):
    user = request.user
    notices = outage_notices(outage=outage, user=user)
    affected = affected_accounts(feeder_ids=outage_feeder_ids(outage), user=user)
    team_of = follow_up_customer_ids(user, {n.customer_id for n in notices})
    live = [n for n in notices if n.withdrawn_at is None]
    stale = [n for n in live if (n.planned_start, n.planned_end) != (outage.planned_start, outage.planned_end)]
    context = {
        "nav": "grid",
        "outage": outage,
        "affected": affected,
        "notices": notices,
        "unacknowledged": [n for n in live if n.acknowledged_at is None],
        "can_acknowledge": outage.status not in (OutageStatus.CANCELLED, OutageStatus.FINISHED),
        "stale_notices": len(stale) if outage.status == OutageStatus.ANNOUNCED else 0,
        "can_plan": can_plan(user),
        "follow_up_for": {n.pk for n in notices if n.customer_id in team_of},
        "announce_form": forms.get("announce_form") or AnnounceForm(),
        "actual_form": forms.get("actual_form")
        or ActualTimesForm(initial={"actual_start": outage.actual_start, "actual_end": outage.actual_end}),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "ack_form": PhoneAckForm(),
        "follow_up_form": FollowUpForm(),
        "error_notice": forms.get("error_notice"),
        "bound_ack_form": forms.get("bound_ack_form"),
        "bound_follow_up_form": forms.get("bound_follow_up_form"),
    }
    return render(request, "outages/outage_detail.html", context, status=status)


class OutageDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        return _detail(request, _outage_or_404(request.user, pk))


class OutageAnnounceView(PlannerMixin, View):
    def post(self, request, pk):
        outage = _outage_or_404(request.user, pk)
        form = AnnounceForm(request.POST)
        if form.is_valid():
            try:
                summary = outage_announce(
                    outage=outage, user=request.user, late_reason=form.cleaned_data["late_reason"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Announced. New notices: %(created)s; updated: %(updated)s; unchanged: %(unchanged)s; "
                        "withdrawn: %(withdrawn)s."
                    )
                    % summary,
                )
                return redirect("outages:outage_detail", pk=outage.pk)
        return _detail(request, _outage_or_404(request.user, pk), announce_form=form)


class OutageActualView(PlannerMixin, View):
    def post(self, request, pk):
        outage = _outage_or_404(request.user, pk)
        form = ActualTimesForm(request.POST)
        if form.is_valid():
            try:
                outage_record_actual(
                    outage=outage,
                    actual_start=form.cleaned_data["actual_start"],
                    actual_end=form.cleaned_data["actual_end"],
                    user=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Actual times recorded."))
                return redirect("outages:outage_detail", pk=outage.pk)
        return _detail(request, _outage_or_404(request.user, pk), actual_form=form)


class OutageCancelView(PlannerMixin, View):
    def post(self, request, pk):
        outage = _outage_or_404(request.user, pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                outage_cancel(outage=outage, reason=form.cleaned_data["reason"], user=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Outage cancelled; the customers told are told it is cancelled."))
                return redirect("outages:outage_detail", pk=outage.pk)
        return _detail(request, _outage_or_404(request.user, pk), cancel_form=form)


def _notice_or_404(user, pk) -> OutageNotice:
    try:
        return notice_get(user=user, pk=pk)
    except OutageNotice.DoesNotExist:
        raise Http404 from None


class NoticePhoneAckView(StaffOnlyMixin, View):
    """Staff record that the customer acknowledged the notice on the phone."""

    def post(self, request, pk):
        notice = _notice_or_404(request.user, pk)
        if not can_follow_up(request.user, notice.customer):
            raise PermissionDenied
        form = PhoneAckForm(request.POST)
        if form.is_valid():
            try:
                notice_acknowledge(notice=notice, user=request.user, person=form.cleaned_data["person"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Acknowledgement of %(customer)s recorded.") % {"customer": notice.customer}
                )
                return redirect("outages:outage_detail", pk=notice.outage_id)
        outage = _outage_or_404(request.user, notice.outage_id)
        return _detail(request, outage, error_notice=notice.pk, bound_ack_form=form)


class NoticeFollowUpView(StaffOnlyMixin, View):
    """The customer was hurt: open a follow-up request or record a visit, linked to the notice."""

    def post(self, request, pk):
        notice = _notice_or_404(request.user, pk)
        if not can_follow_up(request.user, notice.customer):
            raise PermissionDenied
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                notice_follow_up(
                    notice=notice,
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                    visited_on=form.cleaned_data["visited_on"],
                    user=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Follow-up recorded."))
                return redirect("outages:outage_detail", pk=notice.outage_id)
        outage = _outage_or_404(request.user, notice.outage_id)
        return _detail(request, outage, error_notice=notice.pk, bound_follow_up_form=form)


# --- Feeders ----------------------------------------------------------------------------------------------------


FEEDER_COLUMNS = (
    Column(gettext_lazy("Feeder code"), lambda f: f.code, 14),
    Column(gettext_lazy("Name"), lambda f: f.name, 20),
    Column(gettext_lazy("Substation"), lambda f: f.substation.name, 20),
    Column(gettext_lazy("Voltage level (kV)"), lambda f: f.substation.voltage_kv, 8),
    Column(gettext_lazy("Org unit"), lambda f: f.substation.org_unit.name, 16),
    Column(gettext_lazy("Accounts"), lambda f: f.account_count, 8),
)


class FeederListView(StaffOnlyMixin, FilteredListView):
    template_name = "outages/feeder_list.html"
    filterset_class = FeederFilterSet
    sort_fields = {"code": "code", "substation": "substation__name", "accounts": "account_count"}
    default_sort = "code"
    export_columns = FEEDER_COLUMNS
    export_filename = "feeders"
    export_title = gettext_lazy("Feeders")

    def base_queryset(self):
        return feeder_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="grid", can_plan=can_plan(self.request.user))
        return context


class FeederDetailView(StaffOnlyMixin, View):
    def get(self, request, pk):
        try:
            feeder = feeder_get(user=request.user, pk=pk)
        except Feeder.DoesNotExist:
            raise Http404 from None
        outages = outage_list(user=request.user).filter(feeders=feeder)[:20]
        return render(
            request,
            "outages/feeder_detail.html",
            {
                "nav": "grid",
                "feeder": feeder,
                "accounts": feeder_accounts(feeder=feeder, user=request.user),
                "outages": outages,
            },
        )


class SupplyImportView(PlannerMixin, View):
    """Import account–feeder links from a CSV or Excel file (all or nothing)."""

    def render_page(self, form, result=None):
        return render(
            self.request,
            "outages/supply_import.html",
            {"nav": "grid", "form": form, "result": result, "columns": SUPPLY_COLUMNS},
        )

    def get(self, request):
        return self.render_page(SupplyImportForm())

    def post(self, request):
        form = SupplyImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form)
        result = supplies_import(data=form.cleaned_data["file"].read(), user=request.user)
        if not result["rejected"]:
            messages.success(
                request,
                _("Imported. Links created: %(created)s; updated: %(updated)s; unchanged: %(unchanged)s.") % result,
            )
        return self.render_page(SupplyImportForm(), result)


# --- Portal -----------------------------------------------------------------------------------------------------


class PortalNoticeListView(PortalOnlyMixin, View):
    """The portal user's outage notices: to acknowledge first, then the others."""

    def get(self, request):
        return render(
            request, "outages/portal_list.html", {"portal_nav": "outages", **portal_notices(user=request.user)}
        )


class PortalAcknowledgeView(PortalOnlyMixin, View):
    def post(self, request, pk):
        notice = _notice_or_404(request.user, pk)
        try:
            notice_acknowledge(notice=notice, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Thank you: the notice is acknowledged."))
        return redirect(reverse("outages:portal_list"))
