"""Business expansion, mounted at /expansion/."""

from django.urls import path

from . import views

app_name = "expansion"

urlpatterns = [
    # staff
    path("", views.ProjectListView.as_view(), name="project_list"),
    path("board/", views.ProjectBoardView.as_view(), name="board"),
    path("new/", views.ProjectCreateView.as_view(), name="project_create"),
    path("time-limits/", views.TimeLimitView.as_view(), name="time_limits"),
    path("<int:pk>/", views.ProjectDetailView.as_view(), name="project_detail"),
    path("<int:pk>/advance/", views.ProjectAdvanceView.as_view(), name="project_advance"),
    path("<int:pk>/clock-stop/", views.ClockStopView.as_view(), name="clock_stop"),
    path("<int:pk>/documents/", views.DocumentUploadView.as_view(), name="document_upload"),
    path("<int:pk>/cancel/", views.ProjectCancelView.as_view(), name="project_cancel"),
    path("documents/<int:pk>/", views.DocumentDownloadView.as_view(), name="document_download"),
    # portal users: their customers' projects and their progress
    path("portal/", views.PortalProjectListView.as_view(), name="portal_list"),
    path("portal/<int:pk>/", views.PortalProjectDetailView.as_view(), name="portal_detail"),
]
