"""Pages of the notifications part of engagement, mounted at /notifications/ by config/urls.py."""

from django.urls import path

from . import notification_views as views

app_name = "notifications"

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="list"),
    path("read-all/", views.NotificationReadAllView.as_view(), name="read_all"),
    path("badge/", views.NotificationBadgeView.as_view(), name="badge"),
    path("preferences/", views.NotificationPreferencesView.as_view(), name="preferences"),
    path("<int:pk>/read/", views.NotificationReadView.as_view(), name="read"),
    path("<int:pk>/open/", views.NotificationOpenView.as_view(), name="open"),
]
