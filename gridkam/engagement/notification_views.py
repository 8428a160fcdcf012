"""Notification pages: the user's own notifications (unread first, filters, paging, Excel) with marking read and
links through, and the preferences grid (event × channel). Everyone logged in has them (portal users included:
they only ever see their own rows); another user's notification is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.exports import Column
from gridkam.core.views import FilteredListView

from . import notifications as service
from .choices import NotificationChannel, NotificationEvent
from .models import Notification
from .notification_filters import NotificationFilterSet

EXPORT_COLUMNS = (
    Column(gettext_lazy("At"), lambda n: timezone.localtime(n.created_at).replace(tzinfo=None), 18),
    Column(gettext_lazy("Event"), lambda n: n.get_event_display(), 24),
    Column(gettext_lazy("Title"), lambda n: n.title, 40),
    Column(gettext_lazy("Text"), lambda n: n.body, 60),
    Column(
        gettext_lazy("Read"), lambda n: timezone.localtime(n.read_at).replace(tzinfo=None) if n.read_at else None, 18
    ),
)


def _own_or_404(user, pk) -> Notification:
    try:
        return service.notification_get(user=user, pk=pk)
    except Notification.DoesNotExist:
        raise Http404 from None


def _back(request) -> str:
    """Where a mark-read form returns: its ``next`` when it is a page of this site, else the list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("notifications:list")


class NotificationListView(FilteredListView):
    template_name = "engagement/notifications/notification_list.html"
    filterset_class = NotificationFilterSet
    sort_fields = {"created": "created_at", "event": "event"}
    default_sort = ""  # unread first, newest first (the selector's order)
    export_columns = EXPORT_COLUMNS
    export_filename = "notifications"
    export_title = gettext_lazy("Notifications")

    def base_queryset(self):
        return service.notifications_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(nav="notifications", events=NotificationEvent.choices)
        return context


class NotificationReadView(LoginRequiredMixin, View):
    """POST: mark one of the user's notifications read."""

    def post(self, request, pk, *args, **kwargs):
        service.notification_mark_read(notification=_own_or_404(request.user, pk))
        return redirect(_back(request))


class NotificationReadAllView(LoginRequiredMixin, View):
    """POST: mark all the user's notifications read."""

    def post(self, request, *args, **kwargs):
        count = service.notifications_mark_all_read(user=request.user)
        messages.success(request, _("%(count)s notifications marked read.") % {"count": count})
        return redirect(_back(request))


class NotificationOpenView(LoginRequiredMixin, View):
    """GET: follow a notification's link, marking it read (a link to another site is not followed)."""

    def get(self, request, pk, *args, **kwargs):
        notification = service.notification_mark_read(notification=_own_or_404(request.user, pk))
        link = notification.link
        if link and url_has_allowed_host_and_scheme(link, {request.get_host()}, request.is_secure()):
            return redirect(link)
        return redirect("notifications:list")


class NotificationBadgeView(LoginRequiredMixin, TemplateView):
    """The unread count on the bell of the navigation bar, fetched by the page after it loads (htmx), so that no
    page pays a query for it while rendering."""

    template_name = "engagement/notifications/_badge.html"

    def get_context_data(self, **kwargs):
        return {"unread": service.unread_count(self.request.user)}


class NotificationPreferencesView(LoginRequiredMixin, TemplateView):
    """The grid of events × channels; POST saves every event's checkboxes (``<event>__<channel>``)."""

    template_name = "engagement/notifications/notification_preferences.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        preferences = kwargs.get("preferences") or service.preferences_for(user)
        context.update(
            nav="notifications",
            preferences=preferences,
            channels=NotificationChannel.choices,
            missing=service.missing_addresses(user, preferences),
            email=(user.email or "").strip(),
            phone=(getattr(user, "phone", "") or "").strip(),
        )
        return context

    def post(self, request, *args, **kwargs):
        choices = {
            event: {channel: f"{event}__{channel}" in request.POST for channel in NotificationChannel.values}
            for event in NotificationEvent.values
        }
        preferences = service.preferences_save(user=request.user, choices=choices)
        missing = service.missing_addresses(request.user, preferences)
        if missing:
            messages.warning(
                request,
                _("Saved, but messages by %(channels)s cannot be sent: add the address to your profile.")
                % {"channels": "、".join(str(NotificationChannel(c).label) for c in missing)},
            )
        else:
            messages.success(request, _("Your notification preferences are saved."))
        return redirect("notifications:preferences")
