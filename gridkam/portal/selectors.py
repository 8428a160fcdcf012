"""Reads of the customer portal. Everything starts from ``Customer.objects.visible_to(user)`` (a portal user's
own enterprise and the subsidiaries granted to it) through the selectors of the apps that own the data.

``portal_home`` reads the start page in a fixed number of queries whatever the number of accounts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from gridkam.billing.billrun import bill_list
from gridkam.billing.ledger import ZERO, with_arrears, with_balance
from gridkam.billing.models import Bill, BillingTerms
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount, MeteringPoint
from gridkam.engagement.notifications import unread_count
from gridkam.messaging.selectors import unread_total
from gridkam.metering.analytics import month_start
from gridkam.metering.models import AccountMonthlyRollup
from gridkam.servicedesk.appointments import appointments_visible
from gridkam.servicedesk.choices import OPEN_STATUSES
from gridkam.servicedesk.models import AppointmentStatus
from gridkam.servicedesk.selectors import requests_visible
from gridkam.surveys.selectors import survey_list


def customers_for(user) -> QuerySet[Customer]:
    return Customer.objects.visible_to(user).order_by("name", "pk")


def accounts_for(user) -> QuerySet[ElectricityAccount]:
    """The accounts of the user's customers, with their contract terms and metering points."""
    return (
        ElectricityAccount.objects.visible_to(user)
        .select_related("customer", "tariff", "billing_terms")
        .prefetch_related(Prefetch("metering_points", MeteringPoint.objects.order_by("purpose", "code")))
        .order_by("customer__name", "account_no")
    )


def account_for(*, user, pk: int) -> ElectricityAccount:
    """One of the user's accounts (``ElectricityAccount.DoesNotExist`` otherwise)."""
    return accounts_for(user).get(pk=pk)


def customer_ids_for(user) -> list[int]:
    """The ids of the user's customers (one query). A portal user has a handful: given to the database as values
    they let it use the indexes, where the ``visible_to`` subquery is estimated at thousands of rows on a large
    database and the plans scan whole tables (measured: 45 ms instead of 1 ms at 20,000 customers)."""
    return list(Customer.objects.visible_to(user).values_list("pk", flat=True))


def team_for(user, customer_ids: list[int] | None = None) -> list[AccountAssignment]:
    """The current account team of each of the user's customers, with their contact details (one query)."""
    if customer_ids is None:
        customer_ids = customer_ids_for(user)
    return list(
        AccountAssignment.objects.filter(customer_id__in=customer_ids, end_date__isnull=True)
        .select_related("user", "customer")
        .order_by("customer__name", "role", "user__display_name", "pk")
    )


@dataclass
class PortalHome:
    accounts: list[ElectricityAccount]
    latest_bill: Bill | None
    open_requests: int
    unread_notifications: int
    unread_messages: int
    surveys_waiting: int
    next_appointment: object | None
    team: list[AccountAssignment]
    month: datetime.date

    @property
    def people(self) -> list[AccountAssignment]:
        """The team once per person and role (a group's subsidiaries share their manager)."""
        seen: dict[tuple[int, str], AccountAssignment] = {}
        for assignment in self.team:
            seen.setdefault((assignment.user_id, assignment.role), assignment)
        return list(seen.values())

    @property
    def balance_due(self) -> Decimal:
        return sum((a.open_amount for a in self.accounts), ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum((a.arrears for a in self.accounts), ZERO)

    @property
    def month_kwh(self) -> Decimal:
        return sum((a.month_kwh or ZERO for a in self.accounts), ZERO)


def _money(value) -> Decimal:
    return (value or ZERO).quantize(Decimal("0.01"))


def portal_home(*, user, today: datetime.date | None = None, now: datetime.datetime | None = None) -> PortalHome:
    """The start page: per account the open amount, arrears, latest bill and this month's energy so far; the
    latest bill; open requests; unread notices and messages; surveys to answer; the next VIP desk appointment;
    the account team. Ten queries, whatever the number of accounts."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    month = month_start(today)
    customer_ids = customer_ids_for(user)
    bills = bill_list(user=user)
    latest = bills.filter(account=OuterRef("pk")).order_by("-period", "-pk")
    accounts = with_arrears(with_balance(ElectricityAccount.objects.filter(customer_id__in=customer_ids)), today)
    accounts = accounts.annotate(
        latest_bill_id=Subquery(latest.values("pk")[:1]),
        latest_bill_period=Subquery(latest.values("period")[:1]),
        latest_bill_total=Subquery(latest.values("total")[:1]),
        month_kwh=Subquery(
            AccountMonthlyRollup.objects.filter(account=OuterRef("pk"), month=month).values("kwh_total")[:1]
        ),
    )
    rows = list(accounts.select_related("customer").order_by("customer__name", "account_no"))
    for row in rows:
        row.open_amount, row.arrears = _money(row.open_amount), _money(row.arrears)
    # The newest bill over all accounts, read by its id: no scan of every visible bill.
    newest = max(((r.latest_bill_period, r.latest_bill_id) for r in rows if r.latest_bill_id), default=None)
    return PortalHome(
        accounts=rows,
        latest_bill=bills.filter(pk=newest[1] if newest else None).first(),  # one query either way
        open_requests=requests_visible(user).filter(status__in=OPEN_STATUSES).count(),
        unread_notifications=unread_count(user),
        unread_messages=unread_total(user),
        surveys_waiting=survey_list(user=user, now=now).open(now).count(),
        next_appointment=appointments_visible(user)
        .filter(status=AppointmentStatus.BOOKED, starts_at__gte=now)
        .order_by("starts_at", "pk")
        .first(),
        team=team_for(user, customer_ids),
        month=month,
    )


def requests_for(user) -> QuerySet:
    """The user's customers' requests for the portal list (rows need no further query)."""
    return requests_visible(user).select_related("metering_point")


def request_counts(user) -> dict[str, int]:
    """Open and closed requests, for the list's tabs."""
    return requests_visible(user).aggregate(open=Count("pk", filter=Q(status__in=OPEN_STATUSES)), all=Count("pk"))


def billing_terms_for(account: ElectricityAccount) -> BillingTerms | None:
    return getattr(account, "billing_terms", None)
