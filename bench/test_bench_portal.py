"""The portal's start page at province scale (issue 7: under 150 ms with a constant query count).

On the session's demo utility (20,000 customers) the test picks a demo customer, makes it a group: a portal user of
its own, first with one account and one bill, whose page's query count is recorded; then eight accounts (spread
over the customer and two subsidiaries granted to the user), each with a year of issued bills, payments, this
month's rollup, open service requests, a booked VIP desk appointment and unread notices. The counts must be the
same. It then times, for 15 rounds, ``portal_home()`` (``selector``) and ``/portal/`` through the test client
(``page``: middleware, view, queries, template). Times are reported, not asserted. Results: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .conftest import BIG, BenchDatabase, _login

ROUNDS = 15
URL = "/portal/"
USERNAME = "portal-bench-user"
ACCOUNTS = 8
MONTHS = 12


def _queries(func) -> int:
    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


def _group():
    """A demo customer with two subsidiaries granted to its new portal user."""
    from gridkam.core.testing import make_customer
    from gridkam.customers.models import Customer
    from gridkam.users.choices import Role
    from gridkam.users.models import PortalScope, User

    head = Customer.objects.filter(parent__isnull=True, accounts__isnull=False).order_by("pk").first()
    user = User.objects.create(username=USERNAME, display_name="基准能源主管", role=Role.CUSTOMER_USER, customer=head)
    subs = [make_customer(name=f"{head.name}子公司{i}", org_unit=head.org_unit, parent=head) for i in (1, 2)]
    PortalScope.objects.bulk_create([PortalScope(user=user, customer=sub) for sub in subs])
    return user, head, subs


def _first_bill(customer, *, today: dt.date) -> None:
    from gridkam.billing.choices import BillStatus
    from gridkam.billing.models import Bill

    account = customer.accounts.order_by("pk").first()
    period = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    Bill.objects.filter(account=account, period=period).delete()
    Bill.objects.create(account=account, period=period, status=BillStatus.ISSUED, number="PB-FIRST", total=Decimal("1"))


def _grow(user, customers, *, today: dt.date) -> dict[str, int]:
    """Accounts up to ``ACCOUNTS`` over the customers, each with a year of bills and the rest (bulk writes)."""
    from gridkam.billing.choices import BillStatus, PaymentMethod
    from gridkam.billing.models import Bill, Payment
    from gridkam.core.testing import make_account
    from gridkam.customers.models import ElectricityAccount
    from gridkam.engagement.choices import NotificationEvent
    from gridkam.engagement.models import Notification
    from gridkam.metering.models import AccountMonthlyRollup
    from gridkam.servicedesk.choices import OPEN_STATUSES, Channel, Priority, RequestType
    from gridkam.servicedesk.models import ServiceRequest

    have = ElectricityAccount.objects.filter(customer__in=customers).count()
    for i in range(max(0, ACCOUNTS - have)):
        make_account(customer=customers[i % len(customers)], account_no=f"PB{i:08d}")
    accounts = list(ElectricityAccount.objects.filter(customer__in=customers))
    month = today.replace(day=1)
    bills, payments, rollups = [], [], []
    for account in accounts:
        for back in range(1, MONTHS + 1):
            period = (month - dt.timedelta(days=31 * back)).replace(day=1)
            issued = (period + dt.timedelta(days=32)).replace(day=1)
            bills.append(
                Bill(
                    account=account,
                    period=period,
                    status=BillStatus.ISSUED,
                    number=f"PB{account.pk:07d}{back:02d}",
                    total=Decimal("85000.00"),
                    issue_date=issued,
                    due_date=issued + dt.timedelta(days=14),
                )
            )
            if back > 1:
                payments.append(
                    Payment(
                        account=account,
                        received_on=issued + dt.timedelta(days=10),
                        amount=Decimal("85000.00"),
                        method=PaymentMethod.BANK_TRANSFER,
                    )
                )
        if not AccountMonthlyRollup.objects.filter(account=account, month=month).exists():
            rollups.append(AccountMonthlyRollup(account=account, month=month, kwh_total=Decimal("120000")))
    Bill.objects.bulk_create(bills, ignore_conflicts=True)
    Payment.objects.bulk_create(payments)
    AccountMonthlyRollup.objects.bulk_create(rollups, ignore_conflicts=True)
    now = timezone.now()
    ServiceRequest.objects.bulk_create(
        [
            ServiceRequest(
                number=f"SRPB-{i:04d}",
                customer=accounts[i % len(accounts)].customer,
                account=accounts[i % len(accounts)],
                request_type=RequestType.REPAIR,
                channel=Channel.PORTAL,
                priority=Priority.NORMAL,
                title="基准",
                status=sorted(OPEN_STATUSES)[0],
                created_by=user,
                created_at=now,
            )
            for i in range(30)
        ]
    )
    Notification.objects.bulk_create(
        [Notification(recipient=user, event=NotificationEvent.REQUEST_ASSIGNED, title=f"通知{i}") for i in range(40)]
    )
    return {"accounts": len(accounts), "bills": len(bills), "payments": len(payments)}


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["selector", "page"])
def test_portal_home(benchmark, bench_db: BenchDatabase, what: str):
    from gridkam.portal.selectors import portal_home
    from gridkam.users.models import User

    today = timezone.localdate()
    user, head, subs = _group()
    client = _login(USERNAME)

    def fresh_user():
        return User.objects.get(pk=user.pk)

    def selector():
        return portal_home(user=fresh_user())

    def page():
        response = client.get(URL)
        assert response.status_code == 200
        return response

    _first_bill(head, today=today)
    small = {"selector": _queries(selector), "page": _queries(page)}
    written = _grow(user, [head, *subs], today=today)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    home = selector()
    assert len(home.accounts) >= ACCOUNTS and home.latest_bill is not None
    large = {"selector": _queries(selector), "page": _queries(page)}
    assert large == small, f"{large} queries with {len(home.accounts)} accounts, {small} before"

    benchmark.extra_info.update(
        url=URL if what == "page" else "portal_home()",
        queries=large[what],
        customers=BIG,
        **written,
        target_ms=150,
    )
    benchmark.pedantic(selector if what == "selector" else page, rounds=ROUNDS, iterations=1, warmup_rounds=2)
