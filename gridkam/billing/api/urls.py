"""Billing API under /api/v1/: each part registers its viewsets and adds its own paths."""

from . import billrun, dunning, imports, ledger, risk

PARTS = (billrun, ledger, dunning, risk, imports)


def register(router) -> None:
    for part in PARTS:
        part.register(router)


urlpatterns = [pattern for part in PARTS for pattern in part.urlpatterns]
