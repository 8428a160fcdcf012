"""Fixtures shared by the plan and visit tests (imported by them; this module holds no test)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridkam.customers.models import Customer
from gridkam.engagement.models import ServicePlan
from gridkam.engagement.plans import plan_generate, plan_templates_load

# A fixed day for the service tests: mid-May, so a plan generated on it misses January to April.
TODAY = dt.date(2026, 5, 15)
NEW_YEAR = dt.date(2026, 1, 1)


def set_tier(customer: Customer, tier: str) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(tier=tier, tier_computed=tier)
    customer.refresh_from_db()
    return customer


@pytest.fixture
def templates(db):
    plan_templates_load()


@pytest.fixture
def special_plan(p, templates) -> ServicePlan:
    """A1 (special tier: manager + field engineer) planned for 2026 on 1 January: every occurrence of the year."""
    set_tier(p.a1, "special")
    return plan_generate(customer=p.a1, year=2026, user=p.supervisor, today=NEW_YEAR)


@pytest.fixture
def live_plan(p, templates) -> ServicePlan:
    """A1's plan for the real current year, generated as on 1 January (for pages, which use today's date)."""
    set_tier(p.a1, "special")
    year = timezone.localdate().year
    return plan_generate(customer=p.a1, year=year, user=p.supervisor, today=dt.date(year, 1, 1))


def province_supervisor(p):
    """A supervisor of the top unit: who edits the tier templates besides administrators."""
    from gridkam.core.testing import make_user
    from gridkam.users.choices import Role

    return make_user("province_supervisor", role=Role.SUPERVISOR, org_unit=p.province, display_name="周处长")
