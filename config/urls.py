from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from gridkam.core import views as core_views

urlpatterns = [
    path("", include("gridkam.dashboard.urls")),
    path("health/", core_views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
    path("api/v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
