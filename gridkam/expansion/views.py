"""Business expansion pages.

Staff (portal users get 403): the project list with filters, sorting and Excel (``project_list``), the board by
stage (``board``), a new project (``project_create``), the project with its stage timeline and the forms to advance
it, stop or restart the clock, upload documents and cancel (``project_detail`` and its POST targets), documents
(``document_download``) and the time limits (``time_limits``; administrators and supervisors change them).
A project of a customer the user does not see is a 404; one they see but may not change answers 403 to a write.
Portal users (staff get 403): their customers' projects and their progress (``portal_list``, ``portal_detail``),
without internal notes, owners or documents.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView

from gridkam.core.downloads import attachment_response
from gridkam.core.exports import Column
from gridkam.core.views import FilteredListView, StaffOnlyMixin
from gridkam.customers.form_views import add_service_errors

from .choices import ProjectKind, ProjectStatus, Stage
from .forms import (
    AdvanceForm,
    CancelForm,
    ClockStopEndForm,
    ClockStopStartForm,
    CompleteForm,
    DocumentForm,
    ProjectCreateForm,
    TimeLimitForm,
)
from .models import Project, StageDocument
from .rules import next_stage
from .selectors import (
    ProjectFilterSet,
    board,
    document_get,
    portal_projects,
    project_get,
    project_list,
    stage_progress,
    time_limit_list,
    timeline,
    with_days_left,
)
from .services import (
    clock_stop_end,
    clock_stop_start,
    days_left,
    documents_add,
    may_configure,
    may_create,
    may_edit,
    project_cancel,
    project_complete,
    project_create,
    stage_advance,
    time_limits_save,
    warn_working_days,
)


class PortalOnlyMixin(LoginRequiredMixin):
    """Pages of the customer's portal: staff have none (403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


PROJECT_COLUMNS = (
    Column(gettext_lazy("Project number"), lambda p: p.number, 16),
    Column(gettext_lazy("Customer"), lambda p: p.customer.name, 28),
    Column(gettext_lazy("Kind"), lambda p: p.get_kind_display(), 12),
    Column(gettext_lazy("Account"), lambda p: p.account.account_no if p.account_id else "", 14),
    Column(gettext_lazy("Requested capacity (kVA)"), lambda p: p.requested_capacity_kva, 12),
    Column(gettext_lazy("Supply mode"), lambda p: p.get_supply_mode_display(), 10),
    Column(gettext_lazy("Voltage level (kV)"), lambda p: p.voltage_kv, 8),
    Column(gettext_lazy("Status"), lambda p: p.get_status_display(), 10),
    Column(gettext_lazy("Current stage"), lambda p: p.get_current_stage_display(), 14),
    Column(gettext_lazy("Owner"), lambda p: str(p.owner), 12),
    Column(gettext_lazy("Accepted on"), lambda p: p.accepted_on, 12),
    Column(gettext_lazy("Time limit (working days)"), lambda p: p.time_limit_days, 10),
    Column(gettext_lazy("Working days used"), lambda p: p.working_days_used, 10),
    Column(gettext_lazy("Due date"), lambda p: p.due_date, 12),
    Column(gettext_lazy("Completed"), lambda p: p.completed_on, 12),
    Column(gettext_lazy("Reason for passing the time limit"), lambda p: p.breach_reason, 30),
)


class ProjectListView(StaffOnlyMixin, FilteredListView):
    """The projects of the customers the user sees; filters (kind, stage, status, owner, overdue), Excel."""

    template_name = "expansion/project_list.html"
    filterset_class = ProjectFilterSet
    sort_fields = {
        "accepted_on": "accepted_on",
        "due_date": "due_date",
        "customer": "customer__name",
        "number": "number",
        "working_days_used": "working_days_used",
    }
    default_sort = "-accepted_on"
    nulls_last = True
    export_columns = PROJECT_COLUMNS
    export_filename = "expansion-projects"
    export_title = gettext_lazy("Business expansion projects")

    def base_queryset(self):
        return project_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object_list"] = with_days_left(context["object_list"])
        context.update(
            nav="grid",
            can_create=may_create(self.request.user),
            warn_days=warn_working_days(),
        )
        return context


class ProjectBoardView(StaffOnlyMixin, View):
    """The running projects as cards in one column per stage, most urgent first, coloured by days left."""

    def get(self, request):
        qs = project_list(user=request.user)
        filterset = ProjectFilterSet(
            {k: v for k, v in request.GET.items() if v and k in ("kind", "owner", "q")} or None,
            queryset=qs,
            request=request,
        )
        if filterset.is_bound and filterset.is_valid():
            qs = filterset.qs
        return render(
            request,
            "expansion/board.html",
            {
                "nav": "grid",
                "filter": filterset,
                "columns": board(user=request.user, projects=qs),
                "warn_days": warn_working_days(),
            },
        )


class ProjectCreateView(StaffOnlyMixin, FormView):
    template_name = "expansion/project_form.html"
    form_class = ProjectCreateForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_customer_user and not may_create(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            project = project_create(user=self.request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Project %(number)s accepted.") % {"number": project.number})
        return redirect("expansion:project_detail", pk=project.pk)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": "grid"}


class ProjectMixin(StaffOnlyMixin):
    """Loads the project from the URL among those the user sees (else 404)."""

    def get_project(self, pk: int) -> Project:
        try:
            return project_get(user=self.request.user, pk=pk)
        except Project.DoesNotExist:
            raise Http404 from None

    def detail(self, project: Project, status: int = 200, **forms):
        user = self.request.user
        editable = project.status == ProjectStatus.IN_PROGRESS and may_edit(user, project)
        last = project.current_stage and next_stage(project.kind, project.current_stage) is None
        if editable:
            if last:
                forms.setdefault("advance_form", CompleteForm(kind=project.kind))
            else:
                forms.setdefault("advance_form", AdvanceForm())
            forms.setdefault("stop_form", ClockStopEndForm() if project.clock_stopped else ClockStopStartForm())
            forms.setdefault("document_form", DocumentForm(stages=list(project.stages.all())))
            forms.setdefault("cancel_form", CancelForm())
        current = next((s for s in project.stages.all() if s.ended_on is None), None)
        left = days_left(project.due_date) if project.status == ProjectStatus.IN_PROGRESS else None
        return render(
            self.request,
            "expansion/project_detail.html",
            {
                "nav": "grid",
                "project": project,
                "progress": stage_progress(project),
                "timeline": timeline(project),
                "editable": editable,
                "last_stage": last,
                "current": current,
                "days_left": left,
                "days_late": -left if left is not None and left < 0 else 0,
                "warn_days": warn_working_days(),
                **forms,
            },
            status=status,
        )


class ProjectDetailView(ProjectMixin, View):
    def get(self, request, pk: int):
        return self.detail(self.get_project(pk))


class ProjectActionView(ProjectMixin, View):
    """A POST on a project: only for users who may change it (403), while it runs."""

    def post(self, request, pk: int):
        project = self.get_project(pk)
        if not may_edit(request.user, project):
            raise PermissionDenied
        if project.status != ProjectStatus.IN_PROGRESS:
            messages.error(request, _("The project is %(status)s.") % {"status": project.get_status_display()})
            return redirect("expansion:project_detail", pk=project.pk)
        return self.act(project)

    def get(self, request, pk: int):
        return redirect("expansion:project_detail", pk=self.get_project(pk).pk)

    def done(self, project: Project, message: str):
        messages.success(self.request, message)
        return redirect("expansion:project_detail", pk=project.pk)


class ProjectAdvanceView(ProjectActionView):
    """End the current stage and start the next; on the last stage, energisation completes the project."""

    def act(self, project):
        last = next_stage(project.kind, project.current_stage) is None
        form = CompleteForm(self.request.POST, kind=project.kind) if last else AdvanceForm(self.request.POST)
        if not form.is_valid():
            return self.detail(project, advance_form=form)
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        on = data.pop("on")
        try:
            if last:
                project_complete(project=project, user=self.request.user, on=on, **data)
            else:
                stage_advance(project=project, user=self.request.user, on=on, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.detail(self.get_project(project.pk), advance_form=form)
        if last:
            return self.done(project, _("Energised: project %(number)s is completed.") % {"number": project.number})
        project.refresh_from_db()
        return self.done(project, _("Moved on to %(stage)s.") % {"stage": project.get_current_stage_display()})


class ClockStopView(ProjectActionView):
    """Stop the clock (customer time) or let it run again."""

    def act(self, project):
        stopping = not project.clock_stopped
        form = ClockStopStartForm(self.request.POST) if stopping else ClockStopEndForm(self.request.POST)
        if not form.is_valid():
            return self.detail(project, stop_form=form)
        try:
            if stopping:
                clock_stop_start(project=project, user=self.request.user, **form.cleaned_data)
            else:
                clock_stop_end(project=project, user=self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.detail(self.get_project(project.pk), stop_form=form)
        return self.done(project, _("The clock is stopped.") if stopping else _("The clock runs again."))


class DocumentUploadView(ProjectActionView):
    def act(self, project):
        stages = list(project.stages.all())
        form = DocumentForm(self.request.POST, self.request.FILES, stages=stages)
        if not form.is_valid():
            return self.detail(project, document_form=form)
        stage = next(s for s in stages if s.pk == form.cleaned_data["stage"])
        try:
            saved = documents_add(stage=stage, uploads=form.cleaned_data["documents"], user=self.request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.detail(project, document_form=form)
        count = len(saved)
        return self.done(
            project, ngettext("%(count)s document uploaded.", "%(count)s documents uploaded.", count) % {"count": count}
        )


class ProjectCancelView(ProjectActionView):
    def act(self, project):
        form = CancelForm(self.request.POST)
        if not form.is_valid():
            return self.detail(project, cancel_form=form)
        try:
            project_cancel(project=project, user=self.request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.detail(project, cancel_form=form)
        return self.done(project, _("Project %(number)s cancelled.") % {"number": project.number})


class DocumentDownloadView(StaffOnlyMixin, View):
    def get(self, request, pk: int):
        try:
            document = document_get(user=request.user, pk=pk)
        except StageDocument.DoesNotExist:
            raise Http404 from None
        return attachment_response(request, document)


class TimeLimitView(StaffOnlyMixin, View):
    """The statutory time limits by kind, supply mode and stage; administrators and supervisors change them."""

    def get(self, request, status: int = 200, errors: dict | None = None):
        limits = list(time_limit_list())
        labels = dict(Stage.choices)
        return render(
            request,
            "expansion/time_limits.html",
            {
                "nav": "grid",
                "limits": limits,
                "kinds": ProjectKind.choices,
                "stage_labels": labels,
                "can_configure": may_configure(request.user),
                "errors": errors or {},
            },
            status=status,
        )

    def post(self, request):
        if not may_configure(request.user):
            raise PermissionDenied
        # Every value is checked first; only when all are valid are the changes saved, together.
        errors, changes = {}, {}
        for limit in time_limit_list():
            raw = request.POST.get(f"limit-{limit.pk}")
            if raw is None or raw == str(limit.working_days):
                continue
            form = TimeLimitForm({"working_days": raw})
            if not form.is_valid():
                errors[limit.pk] = form.errors["working_days"][0]
                continue
            changes[limit] = form.cleaned_data["working_days"]
        if not errors:
            try:
                changed = time_limits_save(changes=changes, user=request.user)
            except ValidationError as exc:
                errors = {int(pk): found[0] for pk, found in exc.message_dict.items()}
        if errors:
            return self.get(request, status=200, errors=errors)
        messages.success(
            request,
            ngettext("%(count)s time limit changed.", "%(count)s time limits changed.", changed) % {"count": changed},
        )
        return redirect("expansion:time_limits")


# --- Portal ------------------------------------------------------------------------------------------------


class PortalProjectListView(PortalOnlyMixin, View):
    def get(self, request):
        projects = portal_projects(user=request.user)
        for project in projects:
            project.progress = stage_progress(project)
        return render(request, "expansion/portal_list.html", {"portal_nav": "expansion", "projects": projects})


class PortalProjectDetailView(PortalOnlyMixin, View):
    def get(self, request, pk: int):
        try:
            project = project_get(user=request.user, pk=pk)
        except Project.DoesNotExist:
            raise Http404 from None
        return render(
            request,
            "expansion/portal_detail.html",
            {
                "portal_nav": "expansion",
                "project": project,
                "progress": stage_progress(project),
                "days_left": days_left(project.due_date) if project.status == ProjectStatus.IN_PROGRESS else None,
            },
        )
