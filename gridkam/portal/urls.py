"""The customer portal, mounted at /portal/ (see gridkam/portal/views.py)."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("accounts/", views.AccountListView.as_view(), name="accounts"),
    path("accounts/<int:pk>/bills/", views.AccountBillsView.as_view(), name="account_bills"),
    path("accounts/<int:pk>/load/", views.AccountLoadPortalView.as_view(), name="account_load"),
    path("accounts/<int:pk>/advice/", views.AccountAdvicePortalView.as_view(), name="account_advice"),
    path("bills/", views.BillListView.as_view(), name="bills"),
    path("bills/<int:pk>/", views.BillDetailView.as_view(), name="bill_detail"),
    path("requests/", views.RequestListView.as_view(), name="requests"),
    path("requests/new/", views.RequestCreateView.as_view(), name="request_create"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request_detail"),
    path("requests/<int:pk>/reply/", views.RequestReplyView.as_view(), name="request_reply"),
    path("requests/<int:pk>/rate/", views.RequestRateView.as_view(), name="request_rate"),
    path("appointments/", views.AppointmentListView.as_view(), name="appointments"),
    path("appointments/new/", views.AppointmentBookView.as_view(), name="appointment_book"),
    path("appointments/<int:pk>/cancel/", views.AppointmentCancelView.as_view(), name="appointment_cancel"),
    path("notices/", views.NoticeListView.as_view(), name="notices"),
    path("notices/<int:pk>/open/", views.NoticeOpenView.as_view(), name="notice_open"),
    path("team/", views.TeamView.as_view(), name="team"),
]
