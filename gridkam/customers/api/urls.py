"""Routes of the customers API that are not viewsets. All current endpoints are viewsets registered
on the shared router (views.register, called from config/api_urls.py), so this list is empty."""

urlpatterns: list = []
