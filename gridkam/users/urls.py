"""Portal users, invitations, the security page and the code step of logging in, mounted at /accounts/."""

from django.urls import path

from . import views

app_name = "users"

urlpatterns = [
    path("security/", views.SecurityView.as_view(), name="security"),
    path("security/totp/", views.TotpEnableView.as_view(), name="totp_enable"),
    path("security/totp/disable/", views.TotpDisableView.as_view(), name="totp_disable"),
    path("login/code/", views.OtpVerifyView.as_view(), name="otp_verify"),
    path("invitation/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("portal-users/customer/<int:customer_pk>/", views.PortalUsersCardView.as_view(), name="portal_users_card"),
    path(
        "portal-users/customer/<int:customer_pk>/invite/",
        views.InvitationCreateView.as_view(),
        name="invitation_create",
    ),
    path(
        "portal-users/invitations/<int:pk>/resend/",
        views.InvitationActionView.as_view(action="resend"),
        name="invitation_resend",
    ),
    path(
        "portal-users/invitations/<int:pk>/revoke/",
        views.InvitationActionView.as_view(action="revoke"),
        name="invitation_revoke",
    ),
    path("portal-users/<int:pk>/scope/", views.PortalUserScopeView.as_view(), name="portal_user_scope"),
    path("portal-users/<int:pk>/active/", views.PortalUserActiveView.as_view(), name="portal_user_active"),
]
