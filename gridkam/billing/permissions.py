"""Who may do what in billing (pages and API share these, so a role means the same everywhere).

Seeing bills, payments, dunning and risk follows the customer's visibility (``visible_to``): billing
clerks and supervisors their unit and below, managers and field engineers their portfolio, customer
users their own enterprise. Changing them is narrower:

- billing work (bill runs, issuing, credit notes, payments, refunds, imports, dunning steps):
  billing clerks, supervisors and administrators;
- approving a notice of supply suspension and editing the risk scorecard: supervisors and administrators.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from gridkam.core.views import StaffOnlyMixin
from gridkam.users.choices import Role
from gridkam.users.permissions import is_active_user


def does_billing(user) -> bool:
    return is_active_user(user) and (user.is_administrator or user.role in (Role.BILLING_CLERK, Role.SUPERVISOR))


def approves(user) -> bool:
    return is_active_user(user) and (user.is_administrator or user.role == Role.SUPERVISOR)


def is_staff_user(user) -> bool:
    return is_active_user(user) and not user.is_customer_user


class BillingWorkMixin(LoginRequiredMixin):
    """Pages that change billing data: 403 for roles that do not bill (the objects' own visibility is
    checked by the selectors, 404 for what the user may not see)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not does_billing(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


# Back-office pages (workbench, runs, reconciliation): customers' portal users have none.
StaffPageMixin = StaffOnlyMixin


class DoesBilling(BasePermission):
    def has_permission(self, request, view) -> bool:
        return does_billing(request.user)


class IsStaffUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_user(request.user)
