"""The REST API under /api/v1/: each app registers its viewsets on the one router here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from gridkam.core.api_views import register as register_core
from gridkam.customers.api.views import register as register_customers

router = DefaultRouter()
register_core(router)
register_customers(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("gridkam.customers.api.urls")),
    path("", include(router.urls)),
]
