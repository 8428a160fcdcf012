"""Helpers of the portal-user tests: a portal user of another customer (B1), a group with two subsidiaries."""

from __future__ import annotations

import re

from gridkam.core.testing import make_customer, make_user
from gridkam.users.choices import Role
from gridkam.users.models import User


def b1_user(p) -> User:
    """A portal user of customer B1 (city B): the "customer user of another customer" of access tests."""
    return make_user("b1-portal", role=Role.CUSTOMER_USER, customer=p.b1, display_name="纺织能源主管")


def link_token(body: str) -> str:
    """The raw token of the invitation link in an e-mail body."""
    match = re.search(r"/accounts/invitation/([^/\s]+)/", body)
    assert match, body
    return match.group(1)


def grandchild(p):
    """A second-level subsidiary of A1 (under A1-sub) and a second direct subsidiary of A1."""
    deep = make_customer(name="惠州钢铁轧钢二厂", org_unit=p.city_a, parent=p.a1_sub)
    sibling = make_customer(name="惠州钢铁物流有限公司", org_unit=p.city_a, parent=p.a1)
    return deep, sibling
