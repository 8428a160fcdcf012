"""Messaging between a customer's portal users and its account team, mounted at /messages/."""

from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    # staff: all conversations of the customers they serve, unread first
    path("", views.InboxView.as_view(), name="inbox"),
    path("customers/<int:customer_id>/", views.ThreadView.as_view(), name="thread"),
    path("messages/<int:message_id>/request/", views.MessageRequestView.as_view(), name="message_request"),
    path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment"),
    # portal users: their customer's conversation with its account team
    path("portal/", views.PortalThreadView.as_view(), name="portal_conversation"),
    path("portal/<int:customer_id>/", views.PortalThreadView.as_view(), name="portal_thread"),
]
