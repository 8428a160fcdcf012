"""Engagement API under /api/v1/: each part registers its viewsets and adds its own paths."""

from . import health, notifications, plans, work

PARTS = (plans, work, notifications, health)


def register(router) -> None:
    for part in PARTS:
        part.register(router)


urlpatterns = [pattern for part in PARTS for pattern in part.urlpatterns]
