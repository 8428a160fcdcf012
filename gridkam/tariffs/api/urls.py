from django.urls import path

from .views import AdviceView, QuoteView, TariffViewSet

urlpatterns = [
    path("billing/quote/", QuoteView.as_view(), name="billing-quote"),
    path("accounts/<str:pk>/advice/", AdviceView.as_view(), name="account-advice"),
    path(
        "tariffs/<str:code>/versions/<str:effective_from>/",
        TariffViewSet.as_view({"get": "version"}),
        name="tariff-version",
    ),
]
