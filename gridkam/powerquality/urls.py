"""Power quality, mounted at /power-quality/."""

from django.urls import path

from . import views

app_name = "powerquality"

urlpatterns = [
    # staff
    path("", views.EventListView.as_view(), name="event_list"),
    path("chart/", views.EventChartView.as_view(), name="event_chart"),
    path("new/", views.EventFormView.as_view(), name="event_create"),
    path("<int:pk>/", views.EventDetailView.as_view(), name="event_detail"),
    path("<int:pk>/edit/", views.EventFormView.as_view(), name="event_edit"),
    path("<int:pk>/open-request/", views.EventOpenRequestView.as_view(), name="event_open_request"),
    path("import/", views.ImportView.as_view(), name="import"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("accounts/<int:pk>/summary/", views.AccountSummaryView.as_view(), name="account_summary"),
    # portal users
    path("portal/", views.PortalListView.as_view(), name="portal_list"),
    path("portal/report/", views.PortalReportView.as_view(), name="portal_report"),
]
