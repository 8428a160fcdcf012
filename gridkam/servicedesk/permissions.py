"""Who may do what with service requests (pages and API share these, so a role means the same everywhere).

- Seeing a request follows its customer's visibility (``ServiceRequest.objects.visible_to``); customers'
  portal users read their own enterprise's requests without the internal events.
- Logging a request: staff who see the customer; a portal user for the customers it sees (in the portal).
- Acting on it (assign, hand over, change status, reply, internal note, on site): its assignee, the
  customer's account team (current assignments) and the members of the team it is routed to, supervisors
  of the customer's unit (or above) and administrators. Anyone else who sees it reads only.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from gridkam.customers.models import AccountAssignment, Customer
from gridkam.users.permissions import is_active_user


def is_staff_user(user) -> bool:
    return is_active_user(user) and not user.is_customer_user


def sees_customer(user, customer: Customer) -> bool:
    return is_active_user(user) and Customer.objects.visible_to(user).filter(pk=customer.pk).exists()


def can_log(user, customer: Customer | None = None) -> bool:
    """Staff who see the customer (any customer when none is given yet); a portal user for a customer it sees."""
    if is_active_user(user) and user.is_customer_user:
        return customer is not None and sees_customer(user, customer)
    if not is_staff_user(user):
        return False
    return customer is None or sees_customer(user, customer)


def can_write_as_customer(user, request) -> bool:
    """A portal user of the request's customer (its own enterprise or a subsidiary granted to it)."""
    return is_active_user(user) and user.is_customer_user and sees_customer(user, request.customer)


def _supervises(user, customer: Customer) -> bool:
    return bool(user.is_supervisor and user.org_unit_id and customer.org_unit.path.startswith(user.org_unit.path))


def can_act(user, request) -> bool:
    """Whether the user may work on the request (assign, hand over, status, reply, note, on site)."""
    if not is_staff_user(user):
        return False
    if user.is_administrator:
        return True
    if request.assignee_id == user.pk:
        return True
    if request.team_id and user.team_id == request.team_id:
        return True
    customer = request.customer
    if _supervises(user, customer):
        return True
    return AccountAssignment.objects.filter(customer_id=customer.pk, end_date__isnull=True, user=user).exists()


class StaffOnlyPageMixin(LoginRequiredMixin):
    """Pages that log or change requests: customers' portal users have none (403)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_staff_user(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class IsStaffUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_user(request.user)
