from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from gridkam.core import views as core_views
from gridkam.users import views as users_views

urlpatterns = [
    path("", include("gridkam.dashboard.urls")),
    path("health/", core_views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", users_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="registration/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/password_reset_finished.html"),
        name="password_reset_complete",
    ),
    path("accounts/", include("gridkam.users.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("customers/", include("gridkam.customers.urls")),
    path("", include("gridkam.tariffs.urls")),
    path("org/", include("gridkam.core.urls")),
    path("metering/", include("gridkam.metering.urls")),
    path("billing/", include("gridkam.billing.urls")),
    path("tasks/", include("gridkam.engagement.urls")),
    path("service/", include("gridkam.servicedesk.urls")),
    path("plans/", include("gridkam.engagement.urls_plans")),
    path("work/", include("gridkam.engagement.urls_work")),
    path("notifications/", include("gridkam.engagement.urls_notifications")),
    path("health/", include("gridkam.engagement.urls_health")),
    path("portal/", include("gridkam.portal.urls")),
    path("messages/", include("gridkam.messaging.urls")),
    path("surveys/", include("gridkam.surveys.urls")),
    path("expansion/", include("gridkam.expansion.urls")),
    path("outages/", include("gridkam.outages.urls")),
    path("inspections/", include("gridkam.inspections.urls")),
    path("power-quality/", include("gridkam.powerquality.urls")),
    path("api/v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
