"""Reads of the outage part: outages, their affected accounts and notices, feeders and account supplies, the
FilterSets the pages and the API share, and the monthly chart.

Affected accounts (``affected_accounts``): the accounts hanging on any of the outage's feeders, found in one query
over ``AccountSupply`` (each affected account's every supply row, so that a feeder staying up shows as "backup
available"), ordered important users first (GB/T 29328 class), then by tier, customer and account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import django_filters
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gridkam.billing.risk import add_months, month_start
from gridkam.customers.choices import TIER_RANK, AccountStatus
from gridkam.customers.models import Customer, ElectricityAccount

from .bounds import BoundedDateFilter
from .choices import OutageKind, OutageStatus, SupplyRole
from .models import IMPORTANCE_RANK, AccountSupply, Feeder, Outage, OutageNotice, Substation


# The choices of the filters' id fields: only what the user sees, so that an id of another unit is "not a valid
# choice" like one that does not exist (no probing of other cities' ids).
def _user(request):
    return getattr(request, "user", None)


def visible_feeders(request) -> QuerySet[Feeder]:
    return Feeder.objects.visible_to(_user(request))


def visible_substations(request) -> QuerySet[Substation]:
    return Substation.objects.visible_to(_user(request))


def visible_outages(request) -> QuerySet[Outage]:
    return Outage.objects.visible_to(_user(request))


def visible_customers(request) -> QuerySet[Customer]:
    return Customer.objects.visible_to(_user(request))


def visible_accounts(request) -> QuerySet[ElectricityAccount]:
    return ElectricityAccount.objects.visible_to(_user(request))


# --- Affected accounts ------------------------------------------------------------------------------------------


@dataclass
class AffectedAccount:
    account: ElectricityAccount
    customer: Customer
    feeders_out: list[Feeder] = field(default_factory=list)
    feeders_up: list[Feeder] = field(default_factory=list)
    roles_out: list[str] = field(default_factory=list)

    @property
    def backup_available(self) -> bool:
        """Another feeder of the account stays in service (dual supply with one side out)."""
        return bool(self.feeders_up)

    @property
    def rank(self) -> tuple:
        return (
            IMPORTANCE_RANK.get(self.customer.importance_class, 9),
            TIER_RANK.get(self.customer.tier, 9),
            self.customer.name,
            self.account.account_no,
        )


@dataclass
class AffectedCustomer:
    customer: Customer
    accounts: list[AffectedAccount]

    @property
    def backup_available(self) -> bool:
        """Every affected account of the customer keeps a feeder in service."""
        return all(a.backup_available for a in self.accounts)

    @property
    def important(self) -> bool:
        return IMPORTANCE_RANK.get(self.customer.importance_class, 9) < IMPORTANCE_RANK["none"]


def affected_accounts(*, feeder_ids: Iterable[int], user=None) -> list[AffectedAccount]:
    """The accounts (not closed) on any of ``feeder_ids``, important users first, then by tier. ``user``: only the
    accounts of customers the user sees (None: all, for sending notices). One query."""
    feeder_ids = set(feeder_ids)
    if not feeder_ids:
        return []
    on_feeders = AccountSupply.objects.filter(feeder_id__in=feeder_ids).values("account_id")
    rows = (
        AccountSupply.objects.filter(account_id__in=on_feeders)
        .exclude(account__status=AccountStatus.CLOSED)
        .select_related("account__customer", "feeder__substation")
        .order_by("account_id", "role", "feeder__code")
    )
    if user is not None:
        rows = rows.filter(account__customer__in=Customer.objects.visible_to(user).values("pk"))
    found: dict[int, AffectedAccount] = {}
    for supply in rows:
        account = supply.account
        item = found.get(account.pk)
        if item is None:
            item = found[account.pk] = AffectedAccount(account=account, customer=account.customer)
        if supply.feeder_id in feeder_ids:
            item.feeders_out.append(supply.feeder)
            item.roles_out.append(supply.role)
        else:
            item.feeders_up.append(supply.feeder)
    return sorted(found.values(), key=lambda a: a.rank)


def affected_customers(accounts: list[AffectedAccount]) -> list[AffectedCustomer]:
    """The affected accounts grouped by customer, in the accounts' order (important users first)."""
    grouped: dict[int, AffectedCustomer] = {}
    for item in accounts:
        group = grouped.get(item.customer.pk)
        if group is None:
            group = grouped[item.customer.pk] = AffectedCustomer(customer=item.customer, accounts=[])
        group.accounts.append(item)
    return list(grouped.values())


def outage_feeder_ids(outage: Outage) -> list[int]:
    return [f.pk for f in outage.feeders.all()]


# --- Outages ----------------------------------------------------------------------------------------------------


def _count(qs: QuerySet) -> Coalesce:
    return Coalesce(
        Subquery(qs.order_by().values("outage_id").annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
        Value(0),
    )


def outage_list(*, user) -> QuerySet[Outage]:
    """The outages the user sees, with the number of live notices (``notice_count``, of all customers; withdrawn ones
    not counted) and of those not acknowledged (``unacknowledged``), their feeders prefetched; latest start first."""
    notices = OutageNotice.objects.filter(outage_id=OuterRef("pk"), withdrawn_at__isnull=True)
    return (
        Outage.objects.visible_to(user)
        .annotate(
            notice_count=_count(notices),
            unacknowledged=_count(notices.filter(acknowledged_at__isnull=True)),
            late_notices=_count(notices.filter(late=True)),
        )
        .select_related("created_by", "announced_by")
        .prefetch_related("feeders__substation")
        .order_by("-planned_start", "-pk")
    )


def outage_get(*, user, pk) -> Outage:
    """An outage the user sees (``Outage.DoesNotExist`` otherwise)."""
    return outage_list(user=user).get(pk=pk)


def breach_count(qs: QuerySet[Outage]) -> int:
    """Outages announced later than the commitments allow, among ``qs``."""
    return qs.filter(lead_breach=True).count()


def _month_add(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s."""
    return add_months(month_start(day), months)


def outages_per_month(qs: QuerySet[Outage], *, back: int = 11, ahead: int = 2, today: dt.date | None = None) -> dict:
    """Outages (not cancelled) per month of their planned start (local time) by kind, from ``back`` months ago to
    ``ahead`` months on (planned outages are known in advance): one grouped query.
    ``{"months": ["2026-01", ...], "series": {kind: [n, ...]}}``."""
    today = today or timezone.localdate()
    first = _month_add(today, -back)
    labels = [_month_add(first, i).strftime("%Y-%m") for i in range(back + ahead + 1)]
    start = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(_month_add(today, ahead + 1), dt.time()))
    rows = (
        qs.filter(planned_start__gte=start, planned_start__lt=end)
        .exclude(status=OutageStatus.CANCELLED)
        .order_by()
        .annotate(month=TruncMonth("planned_start"))
        .values("month", "kind")
        .annotate(n=Count("pk"))
    )
    series = {kind: [0] * len(labels) for kind in OutageKind.values}
    for row in rows:
        month = row["month"]
        label = (month.date() if isinstance(month, dt.datetime) else month).strftime("%Y-%m")
        if label in labels:
            series[row["kind"]][labels.index(label)] += row["n"]
    return {"months": labels, "series": series}


class OutageFilterSet(django_filters.FilterSet):
    """Outages: search (number, reason, scope), kind, status, feeder, planned start between, announced late."""

    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    kind = django_filters.ChoiceFilter(choices=OutageKind.choices, label=gettext_lazy("Kind"))
    status = django_filters.ChoiceFilter(choices=OutageStatus.choices, label=gettext_lazy("Status"))
    feeder = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_feeders, method="filter_feeder", label=gettext_lazy("Feeder"))
    )
    start_from = BoundedDateFilter(method="filter_start_from", label=gettext_lazy("Starts from"))
    start_to = BoundedDateFilter(method="filter_start_to", label=gettext_lazy("Starts until"))
    late = django_filters.BooleanFilter(field_name="lead_breach", label=gettext_lazy("Announced late"))

    class Meta:
        model = Outage
        fields = ["q", "kind", "status", "feeder", "start_from", "start_to", "late"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(number__icontains=value) | Q(reason__icontains=value) | Q(scope__icontains=value))

    def filter_feeder(self, qs, name, value):
        return qs.filter(pk__in=Outage.feeders.through.objects.filter(feeder=value).values("outage_id"))

    def filter_start_from(self, qs, name, value):
        return qs.filter(planned_start__gte=timezone.make_aware(dt.datetime.combine(value, dt.time())))

    def filter_start_to(self, qs, name, value):
        return qs.filter(
            planned_start__lt=timezone.make_aware(dt.datetime.combine(value + dt.timedelta(days=1), dt.time()))
        )


# --- Notices ----------------------------------------------------------------------------------------------------


def notice_list(*, user) -> QuerySet[OutageNotice]:
    """The notices of the customers the user sees, newest first."""
    return (
        OutageNotice.objects.visible_to(user)
        .with_rank()
        .select_related("outage", "customer", "acknowledged_by", "follow_up_request", "follow_up_visit")
        .order_by("-sent_at", "-pk")
    )


def notice_get(*, user, pk) -> OutageNotice:
    return notice_list(user=user).get(pk=pk)


def outage_notices(*, outage: Outage, user) -> list[OutageNotice]:
    """The outage's notices the user sees: live ones first (withdrawn last), not acknowledged first, important users
    first within each."""
    return list(
        notice_list(user=user)
        .filter(outage=outage)
        .order_by(
            F("withdrawn_at").asc(nulls_first=True),
            "acknowledged_at",
            "importance_rank",
            "tier_rank",
            "customer__name",
            "pk",
        )
    )


def portal_notices(*, user) -> dict[str, list[OutageNotice]]:
    """A portal user's notices: ``waiting`` (not acknowledged, not withdrawn, of outages not finished or cancelled;
    soonest first) and ``others`` (the last 50)."""
    mine = notice_list(user=user)
    open_q = Q(acknowledged_at__isnull=True, withdrawn_at__isnull=True) & ~Q(
        outage__status__in=[OutageStatus.FINISHED, OutageStatus.CANCELLED]
    )
    return {
        "waiting": list(mine.filter(open_q).order_by("planned_start", "pk")),
        "others": list(mine.exclude(open_q)[:50]),
    }


class NoticeFilterSet(django_filters.FilterSet):
    outage = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_outages, label=gettext_lazy("Outage"))
    )
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_customers, label=gettext_lazy("Customer"))
    )
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True, label=gettext_lazy("Acknowledged")
    )
    withdrawn = django_filters.BooleanFilter(
        field_name="withdrawn_at", lookup_expr="isnull", exclude=True, label=gettext_lazy("Withdrawn")
    )
    hurt = django_filters.BooleanFilter(label=gettext_lazy("Customer hurt"))

    class Meta:
        model = OutageNotice
        fields = ["outage", "customer", "acknowledged", "withdrawn", "hurt"]


# --- Feeders and supplies ---------------------------------------------------------------------------------------


def substation_list(*, user) -> QuerySet[Substation]:
    return Substation.objects.visible_to(user).select_related("org_unit").annotate(feeder_count=Count("feeders"))


def feeder_list(*, user) -> QuerySet[Feeder]:
    """The feeders the user sees, with the number of accounts on each (``account_count``, all customers)."""
    supplies = AccountSupply.objects.filter(feeder_id=OuterRef("pk")).order_by().values("feeder_id")
    return (
        Feeder.objects.visible_to(user)
        .select_related("substation__org_unit")
        .annotate(
            account_count=Coalesce(
                Subquery(supplies.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
            )
        )
        .order_by("code")
    )


def feeder_get(*, user, pk) -> Feeder:
    return feeder_list(user=user).get(pk=pk)


def feeder_accounts(*, feeder: Feeder, user) -> list[AffectedAccount]:
    """The accounts on the feeder of the customers the user sees, with their other feeders (one query)."""
    return affected_accounts(feeder_ids=[feeder.pk], user=user)


def supply_list(*, user) -> QuerySet[AccountSupply]:
    return (
        AccountSupply.objects.visible_to(user)
        .filter(feeder__in=Feeder.objects.visible_to(user).values("pk"))
        .select_related("account__customer", "feeder__substation")
        .order_by("account__account_no", "role", "feeder__code")
    )


class FeederFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    substation = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_substations, label=gettext_lazy("Substation"))
    )

    class Meta:
        model = Feeder
        fields = ["q", "substation"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else qs


class SupplyFilterSet(django_filters.FilterSet):
    feeder = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_feeders, label=gettext_lazy("Feeder"))
    )
    account = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=visible_accounts, label=gettext_lazy("Account"))
    )
    customer = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(
            queryset=visible_customers, field_name="account__customer", label=gettext_lazy("Customer")
        )
    )
    role = django_filters.ChoiceFilter(choices=SupplyRole.choices, label=gettext_lazy("Supply role"))

    class Meta:
        model = AccountSupply
        fields = ["feeder", "account", "customer", "role"]
