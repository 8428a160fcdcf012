"""Reads of business expansion: the projects a user sees (list, board, portal), one project with its stages,
clock stops and documents, and the timeline the detail page draws. One FilterSet serves the page and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.core import workdays
from gridkam.core.ids import id_from
from gridkam.customers.filters import MAX_ID

from . import rules
from .choices import ProjectKind, ProjectStatus, Stage
from .models import Project, ProjectStage, StageDocument, TimeLimit
from .services import days_left

OWNER_MINE = "mine"


class ProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Number, customer or title"), max_length=100)
    kind = django_filters.ChoiceFilter(choices=ProjectKind.choices, label=_("Kind"))
    stage = django_filters.ChoiceFilter(field_name="current_stage", choices=Stage.choices, label=_("Stage"))
    status = django_filters.ChoiceFilter(choices=ProjectStatus.choices, label=_("Status"))
    owner = django_filters.CharFilter(
        method="filter_owner", label=_("Owner"), help_text=_("“mine” or a user id."), max_length=20
    )
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Past its due date"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer"), min_value=1, max_value=MAX_ID)

    class Meta:
        model = Project
        fields = ["q", "kind", "stage", "status", "owner", "overdue", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(title__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__name_initials__icontains=value)
        )

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        if value == OWNER_MINE:
            user = getattr(self.request, "user", None)
            return queryset.filter(owner_id=getattr(user, "pk", None))
        if (owner_id := id_from(value)) is not None:
            return queryset.filter(owner_id=owner_id)
        return queryset.none()

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        # Past in working days: a working day after the due date has begun (the weekend after a Friday due date
        # is not late yet).
        today = timezone.localdate()
        last_working = today if workdays.is_working_day(today) else workdays.add_working_days(today, -1)
        late = Q(status=ProjectStatus.IN_PROGRESS, due_date__lt=last_working)
        return queryset.filter(late) if value else queryset.exclude(late)


def project_list(*, user) -> QuerySet[Project]:
    """The projects of the customers the user sees, newest accepted first."""
    return (
        Project.objects.visible_to(user).select_related("customer", "account", "owner").order_by("-accepted_on", "-pk")
    )


def project_get(*, user, pk) -> Project:
    """One project the user sees, with its stages (and their owners and documents) and clock stops."""
    return (
        Project.objects.visible_to(user)
        .select_related("customer", "account", "owner", "new_tariff", "created_by")
        .prefetch_related(
            Prefetch(
                "stages",
                queryset=ProjectStage.objects.select_related("owner").prefetch_related(
                    Prefetch("documents", queryset=StageDocument.objects.select_related("uploaded_by"))
                ),
            ),
            "clock_stops",
        )
        .get(pk=pk)
    )


def document_get(*, user, pk) -> StageDocument:
    """A stage document of a project the user sees (staff only: the portal shows no documents)."""
    if user.is_customer_user:
        raise StageDocument.DoesNotExist
    return StageDocument.objects.filter(stage__project__in=Project.objects.visible_to(user).values("pk")).get(pk=pk)


def time_limit_list() -> QuerySet[TimeLimit]:
    return TimeLimit.objects.order_by("voltage_class", "kind", "supply_mode", "stage")


def with_days_left(projects, *, today: dt.date | None = None) -> list[Project]:
    """Each running project gets ``days_left`` (working days to its due date, negative once passed; None without a
    limit) — the calendar is read once for all."""
    today = today or timezone.localdate()
    projects = list(projects)
    workdays.preload(range(today.year - 1, today.year + 2))
    for project in projects:
        running = project.status == ProjectStatus.IN_PROGRESS and project.due_date
        project.days_left = days_left(project.due_date, today=today) if running else None
        project.days_late = -project.days_left if project.days_left is not None and project.days_left < 0 else 0
    return projects


@dataclass
class BoardColumn:
    stage: str
    label: str
    projects: list[Project]


def board(*, user, projects: QuerySet[Project] | None = None) -> list[BoardColumn]:
    """The running projects by current stage (columns in the stage order), most urgent first in each column."""
    qs = project_list(user=user) if projects is None else projects
    running = with_days_left(qs.filter(status=ProjectStatus.IN_PROGRESS))
    columns = {stage: BoardColumn(stage, label, []) for stage, label in Stage.choices}
    for project in running:
        columns[project.current_stage].projects.append(project)
    far = 10**6
    for column in columns.values():
        column.projects.sort(key=lambda p: (p.days_left if p.days_left is not None else far, p.pk))
    return list(columns.values())


def portal_projects(*, user) -> list[Project]:
    """A portal user's projects (their customers'), running first, then the last 50 finished."""
    qs = Project.objects.visible_to(user).select_related("customer", "account").prefetch_related("stages")
    running = list(qs.filter(status=ProjectStatus.IN_PROGRESS).order_by("-accepted_on", "-pk"))
    done = list(qs.exclude(status=ProjectStatus.IN_PROGRESS).order_by("-accepted_on", "-pk")[:50])
    return with_days_left(running) + done


def stage_progress(project: Project) -> list[dict]:
    """The project's stages in order with their state (done, current, to come) and dates, for progress bars."""
    rows = {s.stage: s for s in project.stages.all()}
    labels = dict(Stage.choices)
    result = []
    for stage in rules.stages_of(project.kind):
        row = rows.get(stage)
        if row is None:
            state = "todo"
        elif row.ended_on is None and project.status == ProjectStatus.IN_PROGRESS:
            state = "current"
        else:
            state = "done"
        result.append({"stage": stage, "label": labels[stage], "state": state, "row": row})
    return result


def timeline(project: Project, *, today: dt.date | None = None) -> dict:
    """The Gantt chart's data: per stage the planned bar (start → due date) and the actual one (start → end, or
    today while running), and the clock stops as shaded spans. Dates as ISO strings."""
    today = today or timezone.localdate()
    stages = []
    for item in stage_progress(project):
        row = item["row"]
        if row is None:
            stages.append({"label": str(item["label"]), "state": item["state"]})
            continue
        end = row.ended_on or (today if project.status == ProjectStatus.IN_PROGRESS else row.started_on)
        stages.append(
            {
                "label": str(item["label"]),
                "state": item["state"],
                "start": row.started_on.isoformat(),
                "planned_end": row.due_date.isoformat() if row.due_date else None,
                "end": end.isoformat(),
                "late": bool(row.limit_days and row.working_days_used > row.limit_days),
            }
        )
    stops = [
        {"start": s.started_on.isoformat(), "end": (s.ended_on or today).isoformat(), "reason": s.reason}
        for s in project.clock_stops.all()
    ]
    return {
        "stages": stages,
        "stops": stops,
        "due": project.due_date.isoformat() if project.due_date else None,
        "today": today.isoformat(),
        "labels": {
            "planned": str(_("Planned (time limit)")),
            "actual": str(_("Actual")),
            "stop": str(_("Clock stopped (customer time)")),
            "due": str(_("Due date")),
        },
    }
