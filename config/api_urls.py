"""The REST API under /api/v1/: each app registers its viewsets on the one router here.

docs/api.md describes the endpoints, authentication, filtering and the error shape. The docs page
is Swagger UI from the sidecar package (nothing fetched from the internet); ReDoc is not offered
because its page loads web fonts from Google, which closed utility intranets cannot reach.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from gridkam.billing.api.urls import register as register_billing
from gridkam.core.api_views import register as register_core
from gridkam.customers.api.views import register as register_customers
from gridkam.engagement.api.urls import register as register_engagement
from gridkam.expansion.api import register as register_expansion
from gridkam.inspections.api import register as register_inspections
from gridkam.messaging.api import register as register_messaging
from gridkam.metering.api.imports import register as register_metering_imports
from gridkam.outages.api import register as register_outages
from gridkam.portal.api import register as register_portal
from gridkam.powerquality.api import register as register_powerquality
from gridkam.servicedesk.api.urls import register as register_servicedesk
from gridkam.surveys.api import register as register_surveys
from gridkam.tariffs.api.views import register as register_tariffs
from gridkam.users.api import MeView, TokenView
from gridkam.users.api import register as register_users

router = DefaultRouter()
register_core(router)
register_users(router)
register_customers(router)
register_tariffs(router)
register_metering_imports(router)
register_billing(router)
register_servicedesk(router)
register_engagement(router)
register_portal(router)
register_messaging(router)
register_surveys(router)
register_expansion(router)
register_outages(router)
register_inspections(router)
register_powerquality(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("", include("gridkam.customers.api.urls")),
    path("", include("gridkam.tariffs.api.urls")),
    path("", include("gridkam.metering.api.urls")),
    path("", include("gridkam.billing.api.urls")),
    path("", include("gridkam.servicedesk.api.urls")),
    path("", include("gridkam.engagement.api.urls")),
    path("", include("gridkam.portal.api")),
    path("", include("gridkam.messaging.api")),
    path("", include("gridkam.surveys.api")),
    path("", include("gridkam.expansion.api")),
    path("", include("gridkam.outages.api")),
    path("", include("gridkam.inspections.api")),
    path("", include("gridkam.powerquality.api")),
    path("", include(router.urls)),
]
