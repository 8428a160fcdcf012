"""Pages of the VIP desk appointments part of the service desk (included by servicedesk/urls.py)."""

from django.urls import path

from . import appointment_views as views

urlpatterns: list = [
    path("appointments/", views.AppointmentListView.as_view(), name="appointment_list"),
    path("appointments/new/", views.AppointmentBookView.as_view(), name="appointment_book"),
    path("appointments/slots/", views.AppointmentSlotsView.as_view(), name="appointment_slots"),
    path("appointments/<int:pk>/", views.AppointmentDetailView.as_view(), name="appointment_detail"),
    path("appointments/<int:pk>/<slug:action>/", views.AppointmentActionView.as_view(), name="appointment_action"),
    path("halls/", views.HallListView.as_view(), name="hall_list"),
]
