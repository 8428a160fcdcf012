"""My work pages: the queue (/work/), its month calendar (/work/calendar/) and the team view for leads
(/work/team/), from which selected items move to another member of the team with a reason.

Portal users have none of these (403). The team view and another member's calendar are for the leads of the
member's team, supervisors of its unit (and above) and administrators: anyone else gets 403 for the team view and
404 for a member they do not lead.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.generic import TemplateView

from gridkam.core.exports import Column, xlsx_response
from gridkam.core.views import HtmxTableMixin, StaffOnlyMixin, requested_page_size
from gridkam.users.models import User

from . import work
from .work import KIND_CHOICES, KINDS, WorkItem


def _due(item: WorkItem):
    if item.due is None:
        return None
    if item.has_time:
        return timezone.localtime(item.due).replace(tzinfo=None)
    return item.due


EXPORT_COLUMNS = (
    Column(gettext_lazy("Kind"), lambda i: i.kind_label, 12),
    Column(gettext_lazy("Title"), lambda i: i.title, 40),
    Column(gettext_lazy("Reference"), lambda i: i.detail, 18),
    Column(gettext_lazy("Customer"), lambda i: i.customer_name, 30),
    Column(pgettext_lazy("work item", "Due"), _due, 18),
    Column(gettext_lazy("Overdue"), lambda i: _("Yes") if i.overdue else "", 8),
    Column(gettext_lazy("SLA"), lambda i: i.sla.label if i.sla else "", 12),
    Column(gettext_lazy("SLA state"), lambda i: i.sla.state if i.sla else "", 10),
)


def filter_args(params) -> dict:
    """The queue filters from a query string: kind (repeatable), overdue (1/true/on), q (customer)."""
    return {
        "kinds": [k for k in params.getlist("kind") if k in KINDS],
        "overdue": params.get("overdue", "") in ("1", "true", "on", "True"),
        "q": params.get("q", "")[:100],
    }


class MyWorkView(HtmxTableMixin, StaffOnlyMixin, TemplateView):
    template_name = "engagement/work/my_work.html"
    page_sizes = (25, 50, 100)

    def get(self, request, *args, **kwargs):
        self.queue = work.my_work(request.user)
        self.filters = filter_args(request.GET)
        self.sort = request.GET.get("sort", work.DEFAULT_SORT)
        if self.sort.lstrip("-") not in work.SORTS:
            self.sort = work.DEFAULT_SORT
        self.rows = work.work_sort(work.work_filter(self.queue.items, **self.filters), self.sort)
        if request.GET.get("export") == "xlsx":
            return xlsx_response(filename="my-work", title=str(_("My work")), columns=EXPORT_COLUMNS, rows=self.rows)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        size = requested_page_size(self.request, 25, self.page_sizes)
        page = Paginator(self.rows, size).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            nav="work",
            queue=self.queue,
            counts=[(kind, label, self.queue.counts[kind], self.queue.overdue[kind]) for kind, label in KIND_CHOICES],
            kind_choices=KIND_CHOICES,
            filters=self.filters,
            sort=self.sort,
            page_obj=page,
            paginator=page.paginator,
            items=page.object_list,
            querystring=query.urlencode(),
            back=self.request.get_full_path(),
            may_lead=work.may_lead(self.request.user),
        )
        return context


class WorkCalendarView(StaffOnlyMixin, TemplateView):
    template_name = "engagement/work/calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        holder = user
        raw = self.request.GET.get("user", "")
        if raw and raw != str(user.pk):
            holder = work.member_led(user, raw)
            if holder is None:
                raise Http404
        today = timezone.localdate()
        month = work.parse_month(self.request.GET.get("month"), today)
        cal = work.work_calendar(holder=holder, viewer=user, month=month, today=today)
        suffix = {"user": holder.pk} if holder.pk != user.pk else {}
        context.update(
            nav="work",
            cal=cal,
            holder=holder,
            own=holder.pk == user.pk,
            previous_query=urlencode({"month": cal.previous.strftime("%Y-%m"), **suffix}),
            next_query=urlencode({"month": cal.next.strftime("%Y-%m"), **suffix}),
            today_query=urlencode(suffix),
            weekdays=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        )
        return context


class ReassignForm(forms.Form):
    """Move selected items of one member to another member of the same team."""

    items = forms.MultipleChoiceField(label=gettext_lazy("Items"), choices=())
    to_user = forms.ModelChoiceField(label=gettext_lazy("Move to"), queryset=User.objects.none())
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)

    def __init__(self, *args, member: User, queue: work.WorkQueue, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["items"].choices = [(i.key, i.title) for i in queue.items if i.kind in work.REASSIGNABLE]
        self.fields["to_user"].queryset = (
            User.objects.filter(team_id=member.team_id, is_active=True, customer__isnull=True)
            .exclude(pk=member.pk)
            .order_by("display_name", "username")
        )


def _member_or_404(user, raw) -> User:
    member = work.member_led(user, raw)
    if member is None:
        raise Http404
    return member


class TeamView(StaffOnlyMixin, TemplateView):
    """Per member of the teams the user leads, the load; ``?member=<id>`` opens one member's items."""

    template_name = "engagement/work/team.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user and not work.may_lead(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, member=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        loads = work.team_load(viewer=user)
        if member is None and self.request.GET.get("member"):
            member = _member_or_404(user, self.request.GET["member"])
        panel = None
        if member is not None:
            queue = work.work_queue(holder=member, viewer=user)
            form = form or ReassignForm(member=member, queue=queue)
            panel = {"member": member, "queue": queue, "form": form}
        teams: dict = {}
        for load in loads:
            teams.setdefault(load.member.team, []).append(load)
        context.update(nav="work", teams=teams, panel=panel)
        return context


class TeamReassignView(TeamView):
    """POST ``member``, ``items`` (``kind:id``), ``to_user``, ``reason``: all selected items move, or none."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        member = _member_or_404(request.user, request.POST.get("member"))
        queue = work.work_queue(holder=member, viewer=request.user)
        form = ReassignForm(request.POST, member=member, queue=queue)
        if form.is_valid():
            try:
                with transaction.atomic():
                    for key in form.cleaned_data["items"]:
                        kind, item_id = work.parse_item_key(key)
                        work.work_reassign(
                            user=request.user,
                            kind=kind,
                            item_id=item_id,
                            to_user=form.cleaned_data["to_user"],
                            reason=form.cleaned_data["reason"],
                        )
            except ValidationError as error:
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                moved = len(form.cleaned_data["items"])
                messages.success(
                    request,
                    ngettext("%(n)s item moved to %(to)s.", "%(n)s items moved to %(to)s.", moved)
                    % {"n": moved, "to": form.cleaned_data["to_user"]},
                )
                return redirect(f"{reverse('work:team')}?{urlencode({'member': member.pk})}")
        context = self.get_context_data(form=form, member=member)
        return self.render_to_response(context, status=400)
