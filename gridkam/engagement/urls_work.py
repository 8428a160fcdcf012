"""Pages of the work part of engagement, mounted at /work/ by config/urls.py."""

from django.urls import path

from . import work_views

app_name = "work"

urlpatterns: list = [
    path("", work_views.MyWorkView.as_view(), name="my_work"),
    path("calendar/", work_views.WorkCalendarView.as_view(), name="calendar"),
    path("team/", work_views.TeamView.as_view(), name="team"),
    path("team/reassign/", work_views.TeamReassignView.as_view(), name="team_reassign"),
]
