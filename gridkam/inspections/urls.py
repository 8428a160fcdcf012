"""Inspections and hidden dangers, mounted at /inspections/."""

from django.urls import path

from . import views

app_name = "inspections"

urlpatterns = [
    # staff: the plan
    path("", views.DueListView.as_view(), name="due"),
    path("rules/", views.RulesView.as_view(), name="rules"),
    # staff: inspections
    path("records/", views.InspectionListView.as_view(), name="inspection_list"),
    path("records/new/", views.InspectionCreateView.as_view(), name="inspection_create"),
    path("records/<int:pk>/", views.InspectionDetailView.as_view(), name="inspection_detail"),
    path("photos/<int:pk>/", views.PhotoView.as_view(), name="photo"),
    # staff: hidden dangers
    path("dangers/", views.DangerListView.as_view(), name="danger_list"),
    path("dangers/<int:pk>/", views.DangerDetailView.as_view(), name="danger_detail"),
    path("dangers/<int:pk>/notice/", views.DangerNoticeView.as_view(), name="danger_notice"),
    path("dangers/<int:pk>/deliver/", views.DangerNoticeDeliverView.as_view(), name="danger_deliver"),
    path("dangers/<int:pk>/status/", views.DangerAdvanceView.as_view(), name="danger_advance"),
    path("dangers/<int:pk>/reinspect/", views.DangerReinspectView.as_view(), name="danger_reinspect"),
    # staff: important users without adequate emergency power
    path("emergency-power/", views.EmergencyPowerListView.as_view(), name="emergency_power"),
    # portal users: their customers' dangers and notices, read-only
    path("portal/", views.PortalDangerListView.as_view(), name="portal_list"),
    path("portal/<int:pk>/notice/", views.PortalNoticeView.as_view(), name="portal_notice"),
]
