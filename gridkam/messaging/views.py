"""Conversation pages: the staff inbox (/messages/), one customer's thread for staff
(/messages/customers/<id>/), the portal page (/messages/portal/), a message turned into a service request, and
attachment downloads (only through a view that checks visibility; never a public media URL).

Staff pages answer 403 to portal users and the portal pages 403 to staff; a customer out of the user's view is
404 everywhere. Reading a thread marks it read (``services.conversation_mark_read``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from gridkam.core.downloads import attachment_response
from gridkam.core.exports import Column
from gridkam.core.ids import id_from
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.form_views import add_service_errors
from gridkam.customers.models import Customer
from gridkam.servicedesk.choices import Priority, RequestType

from . import selectors, services
from .forms import ConversationFilterSet, MakeRequestForm, MessageForm
from .models import Message, MessageAttachment
from .permissions import can_write, on_team, side_of

EXPORT_COLUMNS = (
    Column(gettext_lazy("Customer"), lambda c: c.customer.name, 30),
    Column(gettext_lazy("Unread"), lambda c: c.unread, 8),
    Column(gettext_lazy("Last message at"), lambda c: c.last_message_at, 18),
    Column(gettext_lazy("From"), lambda c: str(c.last_message.sender or "") if c.last_message else "", 14),
    Column(gettext_lazy("Last message"), lambda c: c.last_message.body if c.last_message else "", 60),
)


class InboxView(StaffOnlyMixin, FilteredListView):
    """All conversations of the customers the user sees, unread first."""

    template_name = "messaging/inbox.html"
    filterset_class = ConversationFilterSet
    sort_fields = {"unread": "unread", "last": "last_message_at", "customer": "customer__name"}
    default_sort = "-unread"
    export_columns = EXPORT_COLUMNS
    export_filename = "messages"
    export_title = gettext_lazy("Messages")

    def base_queryset(self):
        return selectors.conversation_list(user=self.request.user)

    def get_queryset(self):
        qs = super().get_queryset()
        sort = self.get_sort()
        field = F(self.sort_fields[sort.lstrip("-")])
        order = field.desc() if sort.startswith("-") else field.asc()
        # Equal counts (or names) keep the latest conversation first.
        return qs.order_by(order, F("last_message_at").desc(), "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="messages", rows=context["object_list"])
        return context


# --- one thread -------------------------------------------------------------------------------------------------


def _customer_or_404(user, pk) -> Customer:
    try:
        return selectors.customer_for_user(user=user, pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def _before(request) -> int | None:
    raw = request.GET.get("before", "")
    return id_from(raw)


class ThreadMixin:
    """The thread of one customer, for staff or for its portal users (``portal``)."""

    portal = False
    template_name = ""

    def post_url(self, customer: Customer) -> str:
        return reverse("messaging:portal_thread" if self.portal else "messaging:thread", args=[customer.pk])

    def thread_context(self, customer: Customer, *, form=None, request_form=None, request_message=None) -> dict:
        request, user = self.request, self.request.user
        conversation = selectors.conversation_of(customer)
        rows, more = selectors.thread_messages(conversation, before=_before(request))
        if conversation is not None and request.method == "GET":
            services.conversation_mark_read(conversation=conversation, user=user)
        writer = can_write(user, customer)
        team_writer = not self.portal and writer
        return {
            "customer": customer,
            "conversation": conversation,
            "thread": rows,
            "more": more,
            "earliest": rows[0].pk if rows else None,
            "my_side": side_of(user),
            "can_write": writer,
            "can_make_request": team_writer,
            "form": form or MessageForm(),
            "request_form": request_form,
            "request_message": request_message,
            "request_types": RequestType.choices,
            "priorities": Priority.choices,
            "default_priority": Priority.NORMAL,
            "post_url": self.post_url(customer),
            "portal": self.portal,
            "max_chars": services.max_chars(),
        }

    def page_context(self, customer: Customer, **kwargs) -> dict:
        return self.thread_context(customer, **kwargs)

    def post_message(self, customer: Customer):
        request = self.request
        if not can_write(request.user, customer):
            raise PermissionDenied
        form = MessageForm(request.POST, request.FILES)
        sent = None
        if form.is_valid():
            try:
                sent = services.message_send(
                    customer=customer,
                    user=request.user,
                    body=form.cleaned_data["body"],
                    attachments=form.cleaned_data["attachments"],
                )
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
        if request.htmx:
            # The thread with the new message (and an empty form), or the form's errors; 200 so HTMX swaps it.
            context = self.thread_context(customer, form=None if sent else form)
            return render(request, "messaging/_thread.html", context)
        if sent is not None:
            messages.success(request, _("Message sent."))
            return redirect(self.post_url(customer))
        return render(request, self.template_name, self.page_context(customer, form=form), status=400)


class ThreadView(StaffOnlyMixin, ThreadMixin, View):
    template_name = "messaging/thread.html"

    def page_context(self, customer, **kwargs):
        return {**self.thread_context(customer, **kwargs), "nav": "messages"}

    def get(self, request, customer_id):
        customer = _customer_or_404(request.user, customer_id)
        return render(request, self.template_name, self.page_context(customer))

    def post(self, request, customer_id):
        return self.post_message(_customer_or_404(request.user, customer_id))


class MessageRequestView(StaffOnlyMixin, ThreadMixin, View):
    """POST: open a service request from a customer's message (the account team)."""

    template_name = "messaging/thread.html"

    def page_context(self, customer, **kwargs):
        return {**self.thread_context(customer, **kwargs), "nav": "messages"}

    def post(self, request, message_id):
        try:
            message = selectors.message_for_user(user=request.user, pk=message_id)
        except Message.DoesNotExist:
            raise Http404 from None
        customer = message.conversation.customer
        if not on_team(request.user, customer):
            raise PermissionDenied
        form = MakeRequestForm(request.POST, prefix="sr")
        if form.is_valid():
            try:
                note = services.message_to_request(message=message, user=request.user, **form.cleaned_data)
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("Service request %(number)s opened.") % {"number": note.service_request.number}
                )
                return redirect("messaging:thread", customer_id=customer.pk)
        context = self.page_context(customer, request_form=form, request_message=message.pk)
        return render(request, self.template_name, context, status=400)


class PortalThreadView(LoginRequiredMixin, ThreadMixin, View):
    """The customer's conversation with its account team, in the portal. A group user who sees several
    customers picks one (``?customer=<id>`` or the path); their own customer by default."""

    portal = True
    template_name = "messaging/portal_conversation.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def page_context(self, customer, **kwargs):
        user = self.request.user
        choices = list(Customer.objects.visible_to(user).order_by("name").values_list("pk", "name"))
        return {**self.thread_context(customer, **kwargs), "portal_nav": "messages", "customer_choices": choices}

    def get(self, request, customer_id=None):
        customer_id = customer_id or request.GET.get("customer") or request.user.customer_id
        customer = _customer_or_404(request.user, customer_id)
        return render(request, self.template_name, self.page_context(customer))

    def post(self, request, customer_id=None):
        customer_id = customer_id or request.GET.get("customer") or request.user.customer_id
        return self.post_message(_customer_or_404(request.user, customer_id))


class AttachmentDownloadView(LoginRequiredMixin, View):
    """A file of a message in a conversation the user sees; 404 otherwise."""

    def get(self, request, pk):
        try:
            attachment = selectors.attachment_for_user(user=request.user, pk=pk)
        except MessageAttachment.DoesNotExist:
            raise Http404 from None
        return attachment_response(request, attachment, cache_seconds=3600)
