"""The customer portal (/portal/): the pages a customer's own energy staff use, with their own simpler
navigation (templates/portal/base.html). Every page reads through the selectors of the app that owns the data
and writes through its services; this module only narrows them to the portal user's customers.

Access: anonymous users are sent to the login page; staff get 403 (they have the staff pages); an object that is
not one of the user's customers' answers 404.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView, TemplateView

from gridkam.billing.billrun import BillFilterSet, bill_get, bill_lines_explained, bill_list
from gridkam.billing.billrun_views import BILL_COLUMNS
from gridkam.billing.choices import BillKind, BillStatus
from gridkam.billing.ledger_views import AccountBillingView
from gridkam.billing.models import Bill
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.engagement.models import Notification
from gridkam.engagement.notifications import notification_get, notification_mark_read, notifications_for
from gridkam.metering.load_views import AccountLoadView
from gridkam.servicedesk import appointments as appointment_svc
from gridkam.servicedesk import selectors as request_selectors
from gridkam.servicedesk import services as request_services
from gridkam.servicedesk.choices import Channel, Priority, RequestStatus, RequestType
from gridkam.servicedesk.filters import RequestFilterSet
from gridkam.servicedesk.forms import MessageForm
from gridkam.servicedesk.forms_appointments import AppointmentBookForm
from gridkam.servicedesk.models import Appointment, AppointmentStatus, ServiceRequest
from gridkam.servicedesk.views import EXPORT_COLUMNS as REQUEST_COLUMNS
from gridkam.tariffs.account_views import AdviceView

from . import selectors
from .forms import PortalRequestForm, RatingForm, SlotQuery


class PortalMixin(LoginRequiredMixin):
    """Portal pages: customer users only (staff: 403); ``portal_nav`` names the active menu item."""

    portal_nav = "home"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["portal_nav"] = self.portal_nav
        return context


def _or_404(lookup, **kwargs):
    try:
        return lookup(**kwargs)
    except (
        ElectricityAccount.DoesNotExist,
        Bill.DoesNotExist,
        ServiceRequest.DoesNotExist,
        Appointment.DoesNotExist,
        Notification.DoesNotExist,
    ):
        raise Http404 from None


class HomeView(PortalMixin, TemplateView):
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(home=selectors.portal_home(user=self.request.user), **kwargs)


class AccountListView(PortalMixin, TemplateView):
    """The user's customers' accounts and their contract terms."""

    template_name = "portal/account_list.html"
    portal_nav = "accounts"

    def get_context_data(self, **kwargs):
        return super().get_context_data(accounts=list(selectors.accounts_for(self.request.user)), **kwargs)


class AccountBillsView(PortalMixin, AccountBillingView):
    """One account's bills, payments and balance (the billing ledger, without drafts), with Excel exports."""

    template_name = "portal/account_bills.html"
    portal_nav = "bills"


class BillListView(PortalMixin, FilteredListView):
    template_name = "portal/bill_list.html"
    portal_nav = "bills"
    filterset_class = BillFilterSet
    sort_fields = {"period": "period", "account": "account__account_no", "total": "total", "due_date": "due_date"}
    default_sort = "-period"
    nulls_last = True
    paginate_by = 12
    page_sizes = (12, 24, 60)
    export_columns = BILL_COLUMNS
    export_filename = "bills"
    export_title = gettext_lazy("Bills")

    def base_queryset(self):
        return bill_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            statuses=[c for c in BillStatus.choices if c[0] != BillStatus.DRAFT],
            kinds=BillKind.choices,
            accounts=ElectricityAccount.objects.visible_to(self.request.user).order_by("account_no"),
            **kwargs,
        )


class BillDetailView(PortalMixin, TemplateView):
    template_name = "portal/bill_detail.html"
    portal_nav = "bills"

    def get_context_data(self, **kwargs):
        bill = _or_404(bill_get, user=self.request.user, pk=self.kwargs["pk"])
        return super().get_context_data(bill=bill, lines=bill_lines_explained(bill), **kwargs)


class AccountLoadPortalView(PortalMixin, AccountLoadView):
    """The account's load analytics: the staff page's data and chart script in the portal layout."""

    template_name = "portal/account_load.html"
    portal_nav = "accounts"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            zooms=[("day", _("Day")), ("week", _("Week")), ("month", _("Month")), ("year", _("Year"))],
            charts=[
                ("load-trend", _("Monthly energy, year on year")),
                ("load-share", _("Energy by time-of-use period, last 12 months")),
                ("load-band", _("Daily highest, lowest and mean load")),
                ("load-heatmap", _("Mean load by month and time of day")),
                ("load-pf", _("Power factor against the standard")),
                ("load-demand", _("Maximum demand against contract demand and capacity")),
            ],
            **kwargs,
        )


class AccountAdvicePortalView(PortalMixin, AdviceView):
    """The cost advisor's recommendations for one account."""

    template_name = "portal/account_advice.html"
    portal_nav = "accounts"


# --- service requests ---------------------------------------------------------------------------------------


class RequestListView(PortalMixin, FilteredListView):
    template_name = "portal/request_list.html"
    portal_nav = "requests"
    filterset_class = RequestFilterSet
    sort_fields = {"created": "created_at", "status": "status", "type": "request_type"}
    default_sort = "-created"
    paginate_by = 10
    page_sizes = (10, 25, 50)
    export_columns = REQUEST_COLUMNS
    export_filename = "service-requests"
    export_title = gettext_lazy("Service requests")

    def base_queryset(self):
        return selectors.requests_for(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            statuses=RequestStatus.choices,
            types=RequestType.choices,
            counts=selectors.request_counts(self.request.user),
            **kwargs,
        )


class RequestCreateView(PortalMixin, TemplateView):
    template_name = "portal/request_form.html"
    portal_nav = "requests"

    def form(self, data=None, files=None):
        customers = Customer.objects.visible_to(self.request.user)
        raw = self.request.GET.get("customer", "")
        chosen = customers.filter(pk=customer_id).first() if (customer_id := id_from(raw)) is not None else None
        # Without a choice, the user's own enterprise (a group user may pick a subsidiary).
        own = customers.filter(pk=self.request.user.customer_id).first()
        form = PortalRequestForm(data, files, user=self.request.user, customer=chosen or own)
        form.fields["customer"].widget.attrs.update(
            {
                "hx-get": reverse("portal:request_create"),
                "hx-trigger": "change",
                "hx-select": "#request-form",
                "hx-target": "#request-form",
                "hx-swap": "outerHTML",
                "hx-include": "this",
            }
        )
        return form

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.form()))

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sr = request_services.request_create(
                    customer=data["customer"],
                    request_type=data["request_type"],
                    channel=Channel.PORTAL,
                    priority=Priority.NORMAL,
                    title=data["title"],
                    description=data["description"],
                    account=data["account"],
                    metering_point=data["metering_point"],
                    attachments=data["attachments"],
                    user=request.user,
                )
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Request %(number)s sent to your account team.") % {"number": sr.number})
                return redirect("portal:request_detail", pk=sr.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RequestDetailView(PortalMixin, TemplateView):
    """A request's public timeline (no internal events), the reply form while open, the rating once closed."""

    template_name = "portal/request_detail.html"
    portal_nav = "requests"

    def get_context_data(self, **kwargs):
        sr = kwargs.pop("sr", None) or _or_404(
            request_selectors.request_for_user, user=self.request.user, pk=self.kwargs["pk"]
        )
        return super().get_context_data(
            sr=sr,
            events=request_selectors.request_events(request=sr, user=self.request.user),
            reply_form=kwargs.pop("reply_form", None) or MessageForm(prefix="reply"),
            rating_form=kwargs.pop("rating_form", None) or RatingForm(prefix="rating"),
            can_reply=sr.status != RequestStatus.CLOSED,
            can_rate=request_services.can_rate(sr),
            **kwargs,
        )


def _request_action(request, pk, form, context_key: str, perform, done: str):
    """POST a customer's action on a request: the service's field errors re-render the request's page (400)."""
    sr = _or_404(request_selectors.request_for_user, user=request.user, pk=pk)
    if form.is_valid():
        try:
            perform(sr, form.cleaned_data)
        except PermissionError:
            raise PermissionDenied from None
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("portal:request_detail", pk=sr.pk)
    view = RequestDetailView(request=request, kwargs={"pk": pk})
    return view.render_to_response(view.get_context_data(sr=sr, **{context_key: form}), status=400)


class RequestReplyView(PortalMixin, View):
    def post(self, request, pk):
        return _request_action(
            request,
            pk,
            MessageForm(request.POST, request.FILES, prefix="reply"),
            "reply_form",
            lambda sr, data: request_services.request_customer_reply(
                request=sr, user=request.user, body=data["body"], attachments=data["attachments"]
            ),
            _("Sent."),
        )


class RequestRateView(PortalMixin, View):
    def post(self, request, pk):
        return _request_action(
            request,
            pk,
            RatingForm(request.POST, prefix="rating"),
            "rating_form",
            lambda sr, data: request_services.request_rate(
                request=sr, user=request.user, score=data["score"], comment=data["comment"]
            ),
            _("Thank you for your rating."),
        )


# --- VIP desk appointments ----------------------------------------------------------------------------------


class AppointmentListView(PortalMixin, TemplateView):
    """The user's customers' appointments, and booking: choose a hall and a day, then a free slot."""

    template_name = "portal/appointment_list.html"
    portal_nav = "appointments"

    def get_context_data(self, **kwargs):
        user = self.request.user
        query = SlotQuery(self.request.GET or None, initial={"day": timezone.localdate() + datetime.timedelta(days=1)})
        rows = []
        if query.is_bound and query.is_valid():
            rows = appointment_svc.slots(query.cleaned_data["hall"], query.cleaned_data["day"])
        appointments = list(appointment_svc.appointments_visible(user).order_by("-starts_at", "-pk")[:50])
        now = timezone.now()
        for appointment in appointments:
            appointment.cancellable = appointment.status == AppointmentStatus.BOOKED and appointment.starts_at > now
        return super().get_context_data(
            appointments=appointments,
            query=query,
            rows=rows,
            form=kwargs.pop("form", None)
            or AppointmentBookForm(user=user, customer=Customer.objects.visible_to(user).first()),
            **kwargs,
        )


class AppointmentBookView(PortalMixin, TemplateView):
    template_name = AppointmentListView.template_name
    portal_nav = "appointments"

    def post(self, request):
        data = request.POST.copy()
        desk, _sep, start = data.get("slot", "").partition("|")
        if desk and start:
            data["desk"], data["starts_at"] = desk, start
        form = AppointmentBookForm(data, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment_svc.appointment_book(
                    desk=data["desk"],
                    customer=data["customer"],
                    account=data["account"],
                    starts_at=data["starts_at"],
                    length=data["length"],
                    topic=data["topic"],
                    contact_name=data["contact_name"] or str(request.user),
                    contact_phone=data["contact_phone"],
                    user=request.user,
                )
            except PermissionDenied:
                raise
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Appointment booked."))
                return redirect("portal:appointments")
        view = AppointmentListView(request=request, kwargs={})
        return view.render_to_response(view.get_context_data(form=form), status=400)


class AppointmentCancelView(PortalMixin, View):
    def post(self, request, pk):
        appointment = _or_404(appointment_svc.appointment_for_user, user=request.user, pk=pk)
        try:
            appointment_svc.appointment_cancel(appointment=appointment, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Appointment cancelled."))
        return redirect("portal:appointments")


# --- notices and the account team ---------------------------------------------------------------------------


class NoticeListView(PortalMixin, ListView):
    """Notices addressed to the user (their in-app notifications), unread first."""

    template_name = "portal/notice_list.html"
    portal_nav = "notices"
    paginate_by = 20

    def get_queryset(self):
        return notifications_for(self.request.user)


# Where a notice may lead a portal user: the portal and its messages and surveys pages (staff pages would 403).
PORTAL_PATHS = ("/portal/", "/messages/portal/", "/surveys/portal/")


class NoticeOpenView(PortalMixin, View):
    """Mark the notice read and follow its link when it is a portal page (the notices list otherwise)."""

    def post(self, request, pk):
        notice = _or_404(notification_get, user=request.user, pk=pk)
        notification_mark_read(notification=notice)
        link = notice.link if notice.link.startswith(PORTAL_PATHS) else reverse("portal:notices")
        return redirect(link)


class TeamView(PortalMixin, TemplateView):
    template_name = "portal/team.html"
    portal_nav = "team"

    def get_context_data(self, **kwargs):
        return super().get_context_data(team=selectors.team_for(self.request.user), **kwargs)
