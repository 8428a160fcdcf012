"""The organisation page: the unit tree with its staff and key-account counts."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView

from gridkam.customers.models import Customer
from gridkam.users.models import User

from .exports import Column, xlsx_response
from .models import OrgUnit

ORG_UNIT_COLUMNS = [
    Column(_("Code"), lambda u: u.code, 14),
    Column(_("Unit"), lambda u: u.name, 28),
    Column(_("Kind"), lambda u: str(u.get_kind_display()), 18),
    Column(_("Parent unit"), lambda u: u.parent.name if u.parent_id else "", 28),
    Column(_("Staff"), lambda u: u.staff_count, 10),
    Column(_("Customers"), lambda u: u.customer_count, 10),
]


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

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            return xlsx_response(
                filename="org-units", title=str(_("Organisation")), columns=ORG_UNIT_COLUMNS, rows=self.get_queryset()
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["nav"] = "org"
        return context
