"""Outage notices, mounted at /outages/."""

from django.urls import path

from . import views

app_name = "outages"

urlpatterns = [
    # staff: outages
    path("", views.OutageListView.as_view(), name="outage_list"),
    path("new/", views.OutageFormView.as_view(), name="outage_create"),
    path("affected/", views.AffectedPreviewView.as_view(), name="affected_preview"),
    path("<int:pk>/", views.OutageDetailView.as_view(), name="outage_detail"),
    path("<int:pk>/edit/", views.OutageFormView.as_view(), name="outage_edit"),
    path("<int:pk>/announce/", views.OutageAnnounceView.as_view(), name="outage_announce"),
    path("<int:pk>/actual/", views.OutageActualView.as_view(), name="outage_actual"),
    path("<int:pk>/cancel/", views.OutageCancelView.as_view(), name="outage_cancel"),
    path("notices/<int:pk>/acknowledge/", views.NoticePhoneAckView.as_view(), name="notice_acknowledge"),
    path("notices/<int:pk>/follow-up/", views.NoticeFollowUpView.as_view(), name="notice_follow_up"),
    # staff: the grid
    path("feeders/", views.FeederListView.as_view(), name="feeder_list"),
    path("feeders/import/", views.SupplyImportView.as_view(), name="supply_import"),
    path("feeders/<int:pk>/", views.FeederDetailView.as_view(), name="feeder_detail"),
    # portal users: their notices
    path("portal/", views.PortalNoticeListView.as_view(), name="portal_list"),
    path("portal/<int:pk>/acknowledge/", views.PortalAcknowledgeView.as_view(), name="portal_acknowledge"),
]
