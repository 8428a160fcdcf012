"""Service request pages: the list, logging a request, one request with its timeline and actions, and
attachment downloads (only through a view that checks visibility; never a public media URL).

Whoever sees the customer sees its requests (portal users: read only, without internal events); logging
and acting are for staff (``permissions``): others get 403, and requests of customers out of view 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from gridkam.core.downloads import attachment_response
from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer
from gridkam.users.models import User

from . import selectors, services
from .choices import Channel, Priority, RequestStatus, RequestType
from .filters import ASSIGNEE_MINE, STATUS_CHOICES, STATUS_OPEN, RequestFilterSet
from .forms import HandoverForm, MessageForm, OnsiteForm, ReopenForm, RequestCreateForm, StatusForm
from .models import RequestAttachment, ServiceRequest
from .permissions import StaffOnlyPageMixin, can_act

EXPORT_COLUMNS = (
    Column(gettext_lazy("Number"), lambda r: r.number, 16),
    Column(gettext_lazy("Customer"), lambda r: r.customer.name, 30),
    Column(gettext_lazy("Type"), lambda r: r.get_request_type_display(), 14),
    Column(gettext_lazy("Channel"), lambda r: r.get_channel_display(), 14),
    Column(gettext_lazy("Priority"), lambda r: r.get_priority_display(), 8),
    Column(gettext_lazy("Title"), lambda r: r.title, 40),
    Column(gettext_lazy("Status"), lambda r: r.get_status_display(), 12),
    Column(gettext_lazy("Assignee"), lambda r: str(r.assignee or ""), 12),
    Column(gettext_lazy("Logged at"), lambda r: timezone.localtime(r.created_at).replace(tzinfo=None), 18),
    Column(
        gettext_lazy("Resolution due"),
        lambda r: timezone.localtime(r.resolution_due_at).replace(tzinfo=None) if r.resolution_due_at else None,
        18,
    ),
)


def _request_or_404(user, pk) -> ServiceRequest:
    try:
        return selectors.request_for_user(user=user, pk=pk)
    except ServiceRequest.DoesNotExist:
        raise Http404 from None


class RequestListView(FilteredListView):
    template_name = "servicedesk/request_list.html"
    filterset_class = RequestFilterSet
    sort_fields = {"created": "created_at", "priority": "priority_rank", "due": "resolution_due_at"}
    default_sort = "-created"
    nulls_last = True
    export_columns = EXPORT_COLUMNS
    export_filename = "service-requests"
    export_title = gettext_lazy("Service requests")

    def base_queryset(self):
        return selectors.requests_visible(self.request.user).annotate(priority_rank=selectors.PRIORITY_RANK)

    def filter_data(self) -> QueryDict:
        data = super().filter_data()
        if "status" not in self.request.GET:
            data["status"] = STATUS_OPEN  # open requests unless another status (or "all") is asked for
        return data

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        rows = list(context["object_list"])
        for row in rows:
            row.sla = selectors.sla_badge(row, now)
        user = self.request.user
        context.update(
            nav="service",
            rows=rows,
            statuses=STATUS_CHOICES,
            types=RequestType.choices,
            priorities=Priority.choices,
            channels=Channel.choices,
            mine=ASSIGNEE_MINE,
            status_value=self.filter_data().get("status", STATUS_OPEN),
            can_log=not user.is_customer_user,
        )
        return context


class RequestCreateView(StaffOnlyPageMixin, FormView):
    template_name = "servicedesk/request_form.html"
    form_class = RequestCreateForm

    def preselected(self) -> Customer | None:
        raw = self.request.GET.get("customer", "")
        if (customer_id := id_from(raw)) is not None:
            return Customer.objects.visible_to(self.request.user).filter(pk=customer_id).first()
        return None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "customer": self.preselected()}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        # Choosing the customer reloads the form so that the account and metering point lists are its own.
        form.fields["customer"].widget.attrs.update(
            {
                "hx-get": reverse("servicedesk:request_create"),
                "hx-trigger": "change",
                "hx-select": "#request-form",
                "hx-target": "#request-form",
                "hx-swap": "outerHTML",
                "hx-include": "this",
            }
        )
        return form

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            request = services.request_create(
                customer=data["customer"],
                request_type=data["request_type"],
                channel=data["channel"],
                priority=data["priority"],
                title=data["title"],
                description=data["description"],
                account=data["account"],
                metering_point=data["metering_point"],
                attachments=data["attachments"],
                user=self.request.user,
            )
        except PermissionError:
            raise PermissionDenied from None
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Request %(number)s logged.") % {"number": request.number})
        return redirect("servicedesk:request_detail", pk=request.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="service", **kwargs)


ACTION_FORMS = {
    "reply": MessageForm,
    "note": MessageForm,
    "status": StatusForm,
    "handover": HandoverForm,
    "onsite": OnsiteForm,
    "reopen": ReopenForm,
}


def detail_context(request, sr: ServiceRequest, bound: dict | None = None) -> dict:
    user = request.user
    now = timezone.now()
    acting = can_act(user, sr)
    forms = {name: form_class(prefix=name) for name, form_class in ACTION_FORMS.items()} if acting else {}
    forms.update(bound or {})
    targets = selectors.sla_targets(sr, now)
    return {
        "nav": "service",
        "sr": sr,
        "events": selectors.request_events(request=sr, user=user),
        "targets": targets,
        "can_act": acting,
        "transitions": [(value, RequestStatus(value).label) for value in services.allowed_transitions(sr, now=now)]
        if acting
        else [],
        "can_reopen": acting and services.can_reopen(sr, now=now),
        "candidates": list(selectors.handover_candidates(sr).exclude(pk=sr.assignee_id)) if acting else [],
        "forms": forms,
        "staff": not user.is_customer_user,
    }


class RequestDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        sr = _request_or_404(request.user, pk)
        return render(request, "servicedesk/request_detail.html", detail_context(request, sr))


class RequestActionView(StaffOnlyPageMixin, View):
    """POST one action of the detail page; errors re-render the page with the form's field errors (400)."""

    def post(self, request, pk, action):
        if action not in ACTION_FORMS:
            raise Http404
        sr = _request_or_404(request.user, pk)
        if not can_act(request.user, sr):
            raise PermissionDenied
        form = ACTION_FORMS[action](request.POST, request.FILES, prefix=action)
        if form.is_valid():
            try:
                self.perform(action, sr, form.cleaned_data, request.user)
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("servicedesk:request_detail", pk=sr.pk)
        sr = _request_or_404(request.user, pk)
        return render(
            request, "servicedesk/request_detail.html", detail_context(request, sr, {action: form}), status=400
        )

    def perform(self, action, sr, data, user):
        if action == "reply":
            services.request_reply(request=sr, user=user, body=data["body"], attachments=data["attachments"])
        elif action == "note":
            services.request_note(request=sr, user=user, body=data["body"], attachments=data["attachments"])
        elif action == "status":
            services.request_status(request=sr, status=data["status"], user=user, note=data["note"])
        elif action == "handover":
            to_user = User.objects.filter(pk=data["to_user"]).first()
            services.request_handover(request=sr, to_user=to_user, user=user, reason=data["reason"])
        elif action == "onsite":
            services.request_onsite(request=sr, user=user, at=data["at"])
        elif action == "reopen":
            services.request_reopen(request=sr, user=user, reason=data["reason"])


class AttachmentDownloadView(LoginRequiredMixin, View):
    """An attachment of a request the user sees (portal users: not internal ones); 404 otherwise."""

    def get(self, request, pk):
        try:
            attachment = selectors.attachment_for_user(user=request.user, pk=pk)
        except RequestAttachment.DoesNotExist:
            raise Http404 from None
        return attachment_response(request, attachment)
