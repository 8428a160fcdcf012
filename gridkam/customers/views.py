"""Key-account pages: the customer list, the customer 360 page and the metering point list."""

from __future__ import annotations

import datetime

from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from gridkam.billing.summary import customer_billing_accounts
from gridkam.core.views import FilteredListView
from gridkam.engagement.health_selectors import customer_health_cards
from gridkam.engagement.plans import customer_plan_summary
from gridkam.metering.load_views import curve_options
from gridkam.metering.watch import accounts_with_load, anomalies_in, default_as_of
from gridkam.servicedesk.selectors import customer_requests_recent
from gridkam.users.permissions import manages_portfolios

from . import selectors
from .filters import CustomerFilterSet, MeteringPointFilterSet
from .forms import PortfolioReassignForm, TierOverrideForm
from .models import Customer, ElectricityAccount
from .tables import CUSTOMER_COLUMNS, METERING_POINT_COLUMNS


class CustomerListView(FilteredListView):
    template_name = "customers/customer_list.html"
    filterset_class = CustomerFilterSet
    sort_fields = {
        "name": "name",
        "credit_code": "credit_code",
        "tier": "tier",
        "org_unit": "org_unit__path",
        "capacity": "capacity_total_kva",
        "energy": "annual_energy_mwh",
        "manager": "manager_name",
    }
    default_sort = "name"
    export_columns = CUSTOMER_COLUMNS
    export_filename = "customers"
    export_title = _("Customers")

    def base_queryset(self):
        return selectors.customer_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["nav"] = "customers"
        context["can_reassign"] = manages_portfolios(user)
        context["can_create"] = manages_portfolios(user)
        if context["can_reassign"] and not getattr(self.request, "htmx", False):
            # The reassignment bar sits outside the HTMX-swapped table; the partial does not need it.
            context["reassign_form"] = PortfolioReassignForm(user=user, compact=True)
        return context


class CustomerDetailView(LoginRequiredMixin, TemplateView):
    """The customer 360 page: everything the account team knows about one key account."""

    template_name = "customers/customer_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        customer = selectors.customer_get(user=user, pk=kwargs["pk"])
        accounts = list(customer.accounts.all())
        context.update(
            nav="customers",
            customer=customer,
            accounts=accounts,
            contacts=list(customer.contacts.all()),
            team=customer.current_team,
            subsidiaries=list(customer.subsidiaries.all()),
            gaps=customer.supply_gaps,
            capacity_total_kva=customer.capacity_total_kva,
            history=selectors.customer_history(customer=customer) if not user.is_customer_user else [],
            past_team=selectors.customer_past_team(customer=customer) if not user.is_customer_user else [],
            can_edit=Customer.objects.editable_by(user).filter(pk=customer.pk).exists(),
        )
        context.update(self.load_context(customer, user))
        today = timezone.localdate()
        context["billing_accounts"] = customer_billing_accounts(customer=customer, user=user, today=today)
        context["service_requests"] = customer_requests_recent(customer, user)
        # This year's service plan in numbers (one query; staff only: plans are internal).
        context["service_plan"] = (
            None if user.is_customer_user else customer_plan_summary(customer=customer, year=today.year, today=today)
        )
        # Each account's health level, score and weakest drivers (one query; staff only: health is internal).
        context["health_cards"] = (
            None if user.is_customer_user else customer_health_cards(customer=customer, accounts=accounts)
        )
        # Tier overrides and team changes are the supervisor's (gridkam.users.permissions).
        context["can_manage"] = context["can_edit"] and manages_portfolios(user)
        if context["can_manage"]:
            context["tier_form"] = TierOverrideForm(
                initial={"tier": customer.tier, "tier_override_reason": customer.tier_override_reason}
            )
        return context

    @staticmethod
    def load_context(customer, user) -> dict:
        """The load card: each account's last 30 days (two queries whatever the number of accounts), its
        anomalies for staff, and the account whose curve the card draws (the first with readings)."""
        as_of = default_as_of()
        load = list(accounts_with_load(ElectricityAccount.objects.filter(customer=customer), as_of))
        drawn = next((a for a in load if a.kwh_30d is not None), None)
        return {
            "load": load,
            "load_as_of": as_of,
            "load_anomalies": [] if user.is_customer_user else anomalies_in(load, as_of),
            "load_drawn": drawn,
            "load_curve_options": None
            if drawn is None
            else curve_options(drawn, as_of - datetime.timedelta(days=29), as_of),
        }


class MeteringPointListView(FilteredListView):
    template_name = "customers/metering_point_list.html"
    filterset_class = MeteringPointFilterSet
    sort_fields = {"code": "code", "meter_no": "meter_no", "account": "account__account_no", "multiplier": "multiplier"}
    default_sort = "code"
    export_columns = METERING_POINT_COLUMNS
    export_filename = "metering-points"
    export_title = _("Metering points")

    def base_queryset(self):
        return selectors.metering_point_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["nav"] = "metering_points"
        return context
