"""Task pages, mounted at /tasks/ (config/urls.py: ``path("tasks/", include("gridkam.engagement.urls"))``)."""

from django.urls import path

from . import views

app_name = "engagement"

urlpatterns = [
    path("", views.MyTasksView.as_view(), name="my_tasks"),
    path("<int:pk>/done/", views.TaskDoneView.as_view(), name="task_done"),
]
