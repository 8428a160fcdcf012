"""Who reads and who writes a customer's conversation (pages and API share these).

- Reading: whoever sees the customer (``Customer.objects.visible_to``): its portal users, the staff who serve
  or supervise it. Anyone else gets 404.
- Writing on the customer side: the customer's portal users (a group user for every customer in their scope).
- Writing on the team side: the customer's account team (current ``AccountAssignment`` rows), supervisors of
  the customer's unit (or above) and administrators. Other staff who see the customer (team colleagues, billing
  clerks) read only: a customer should hear from the people who serve it.
- Opening a service request from a message: team-side writers (``request_create`` checks its own rule too).
"""

from __future__ import annotations

from gridkam.customers.models import AccountAssignment, Customer
from gridkam.users.permissions import is_active_user

from .choices import Side


def side_of(user) -> str:
    return Side.CUSTOMER if user.is_customer_user else Side.TEAM


def other_side(side: str) -> str:
    return Side.TEAM if side == Side.CUSTOMER else Side.CUSTOMER


def sees(user, customer: Customer) -> bool:
    return is_active_user(user) and Customer.objects.visible_to(user).filter(pk=customer.pk).exists()


def _supervises(user, customer: Customer) -> bool:
    return bool(user.is_supervisor and user.org_unit_id and customer.org_unit.path.startswith(user.org_unit.path))


def on_team(user, customer: Customer) -> bool:
    """Staff who write for the team: the current account team, supervisors of its unit, administrators."""
    if not is_active_user(user) or user.is_customer_user:
        return False
    if user.is_administrator or _supervises(user, customer):
        return True
    return AccountAssignment.objects.filter(customer_id=customer.pk, end_date__isnull=True, user=user).exists()


def can_write(user, customer: Customer) -> bool:
    """Whether the user may post in the customer's conversation (the customer is already known to be visible)."""
    if not is_active_user(user):
        return False
    if user.is_customer_user:
        return sees(user, customer)
    return on_team(user, customer)
