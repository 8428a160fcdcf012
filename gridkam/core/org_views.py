"""The organisation page: the unit tree with its staff and key-account counts."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.views.generic import ListView

from gridkam.customers.models import Customer
from gridkam.users.models import User

from .models import OrgUnit


def _count(queryset, field: str):
    return Coalesce(
        Subquery(queryset.filter(**{field: OuterRef("pk")}).values(field).annotate(n=Count("pk")).values("n")),
        Value(0),
    )


class OrgUnitListView(LoginRequiredMixin, ListView):
    template_name = "core/org_unit_list.html"
    paginate_by = None

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_customer_user:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        user = self.request.user
        return (
            OrgUnit.objects.visible_to(user)
            .select_related("parent")
            .annotate(
                customer_count=_count(Customer.objects.visible_to(user), "org_unit"),
                staff_count=_count(User.objects.filter(customer__isnull=True, is_active=True), "org_unit"),
            )
            .order_by("path")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["nav"] = "org"
        return context
