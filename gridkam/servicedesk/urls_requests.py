"""Pages of the requests part of the service desk (included by servicedesk/urls.py)."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("requests/", views.RequestListView.as_view(), name="request_list"),
    path("requests/new/", views.RequestCreateView.as_view(), name="request_create"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request_detail"),
    path("requests/<int:pk>/<slug:action>/", views.RequestActionView.as_view(), name="request_action"),
    path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment"),
]
