"""My tasks: the open tasks assigned to the user (raised by risk warnings or colleagues), marked done with a
note. Tasks are internal: portal users have no task list (403)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from gridkam.core.views import StaffOnlyMixin

from .models import Task
from .services import TaskStateError, task_complete, tasks_open_for


class MyTasksView(StaffOnlyMixin, TemplateView):
    template_name = "engagement/my_tasks.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(tasks_open_for(self.request.user), 50).get_page(self.request.GET.get("page"))
        context.update(
            nav="tasks",
            page_obj=page,
            paginator=page.paginator,
            tasks=page.object_list,
            today=timezone.localdate(),
            querystring="",
        )
        return context


class TaskDoneView(StaffOnlyMixin, View):
    """Mark one of the user's tasks done (POST ``note``); someone else's task is a 404."""

    def post(self, request, pk, *args, **kwargs):
        try:
            task = Task.objects.visible_to(request.user).get(pk=pk, assignee=request.user)
        except Task.DoesNotExist:
            raise Http404 from None
        note = request.POST.get("note", "")[:500]
        try:
            task_complete(task=task, user=request.user, note=note)
        except TaskStateError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The task is done."))
        # "My work" posts here too and names itself as the page to go back to.
        back = request.POST.get("next") or ""
        if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            return redirect(back)
        return redirect("engagement:my_tasks")
