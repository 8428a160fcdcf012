"""Role rules that pages and API share, so a role means the same thing everywhere."""

from __future__ import annotations


def is_active_user(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def manages_portfolios(user) -> bool:
    """Supervisors (of a unit) and administrators: they create customers, move portfolios between
    people, change account teams and override tiers. Account managers and field engineers work
    inside their portfolio; billing clerks and customer users read only."""
    return is_active_user(user) and (user.is_administrator or (user.is_supervisor and user.org_unit_id is not None))
