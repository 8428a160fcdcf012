"""The portal's own API endpoint: /api/v1/portal/home/."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

URL = "/api/v1/portal/home/"


def test_anonymous_and_staff_are_refused(api, p, world):
    assert api(None).get(URL).status_code in (401, 403)
    for user in (p.manager, p.outsider, p.admin):
        assert api(user).get(URL).status_code == 403


def test_customer_user_reads_its_own_summary(api, world):
    body = api(world.mine.user).get(URL).json()
    assert {a["id"] for a in body["accounts"]} >= {world.mine.account.pk}
    assert world.theirs.account.pk not in {a["id"] for a in body["accounts"]}
    assert body["latest_bill_id"] == world.mine.bill.pk
    assert body["open_requests"] == 1 and body["surveys_waiting"] == 1
    assert all(t["customer_id"] != world.theirs.customer.pk for t in body["team"])


def test_summary_query_count_is_constant(api, world, p):
    from gridkam.core.testing import make_account

    client = api(world.mine.user)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(4):
        make_account(customer=p.a1_sub)
    with CaptureQueriesContext(connection) as many:
        body = client.get(URL).json()
    assert len(body["accounts"]) >= 5
    assert len(many) == len(few)
