"""The collections workbench (催费工作台): the user's accounts in arrears, by risk and amount, with the next
dunning step each may take. One selector and one FilterSet behind the page and ``GET /api/v1/collections/``.

Everything a row shows comes from annotations of one query (arrears and oldest due date from the ledger's
``with_arrears``, the latest risk score, the open dunning case's last step, the current manager), except the
late-payment penalty: it is computed exactly, by the ledger's rule, for the rows of a page at once
(``rows_complete``: three queries whatever the number of rows). The next step is ``next_step_of`` applied to
each row's annotations, in Python, without queries.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

import django_filters
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridkam.core.models import OrgUnit
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.models import AccountAssignment, ElectricityAccount
from gridkam.users.models import User

from .choices import RISK_LEVEL_ORDER, AgingBucket, DunningStatus, DunningStepKind, RiskLevel
from .dunning import next_step_of
from .ledger import AGING_LIMITS, aging_bucket, money, penalty_compute, penalty_total, unpaid_bill_q, with_arrears
from .models import Allocation, Bill, BillingTerms, DunningStep, RiskScore

ZERO = Decimal("0")
NO_RISK_RANK = -1
NO_DUNNING = "none"
# Steps an open case can have last (a restored case is closed).
OPEN_STATES = [s for s in DunningStepKind if s != DunningStepKind.RESTORATION]
DUNNING_STATE_CHOICES = [(NO_DUNNING, _("No open case")), *((s.value, s.label) for s in OPEN_STATES)]
OVERDUE_BUCKETS = [(b.value, b.label) for b in AgingBucket if b != AgingBucket.NOT_DUE]


def collections_list(*, user, today: datetime.date | None = None) -> QuerySet[ElectricityAccount]:
    """The accounts the user sees with arrears (issued bills past due and not paid) on ``today``, annotated
    with ``arrears``, ``open_amount``, ``oldest_due``, ``risk_level``, ``risk_score``, ``risk_rank``
    (``RISK_LEVEL_ORDER``; -1 unscored), ``manager_name``, and the open dunning case's ``case_id``,
    ``last_step_kind``, ``last_step_on`` and ``suspension_planned_on``. Unordered."""
    today = today or timezone.localdate()
    overdue = Bill.objects.filter(unpaid_bill_q(), account_id=OuterRef("pk"), due_date__lt=today)
    # The semi-join first: the annotations are then computed for accounts in arrears only.
    accounts = ElectricityAccount.objects.visible_to(user).filter(Exists(overdue))
    latest = RiskScore.objects.filter(account_id=OuterRef("pk")).order_by("-scored_on")
    rank = Case(
        *(When(level=level, then=Value(order)) for level, order in RISK_LEVEL_ORDER.items()),
        default=Value(NO_RISK_RANK),
        output_field=IntegerField(),
    )
    # Subqueries without the models' default ordering: it would join the account or the customer for nothing.
    open_steps = DunningStep.objects.filter(case__account_id=OuterRef("pk"), case__status=DunningStatus.OPEN).order_by()
    last_step = open_steps.order_by("-done_on", "-pk")
    manager = AccountAssignment.objects.filter(
        customer_id=OuterRef("customer_id"), role=AssignmentRole.MANAGER, end_date__isnull=True
    ).order_by()
    return (
        with_arrears(accounts, today)
        .annotate(
            risk_level=Subquery(latest.values("level")[:1]),
            risk_score=Subquery(latest.values("score")[:1]),
            risk_rank=Coalesce(
                Subquery(latest.annotate(rank=rank).values("rank")[:1], output_field=IntegerField()),
                Value(NO_RISK_RANK),
            ),
            case_id=Subquery(open_steps.values("case_id")[:1]),
            last_step_kind=Subquery(last_step.values("kind")[:1]),
            last_step_on=Subquery(last_step.values("done_on")[:1]),
            suspension_planned_on=Subquery(
                open_steps.filter(kind=DunningStepKind.SUSPENSION_NOTICE).values("suspension_planned_on")[:1]
            ),
            manager_name=Subquery(manager.values("user__display_name")[:1]),
            manager_username=Subquery(manager.values("user__username")[:1]),
        )
        # The customers of a page's rows only: joining them to every row in arrears before the sort costs more.
        .prefetch_related("customer__org_unit")
    )


def rows_complete(rows: Iterable[ElectricityAccount], today: datetime.date) -> list[ElectricityAccount]:
    """Give the rows of a page what annotations cannot: ``days_overdue``, ``bucket``, ``next`` (a
    ``NextStep``) and the exact ``penalty`` to ``today`` (three queries for all the rows)."""
    rows = list(rows)
    ids = [row.pk for row in rows]
    penalties = _penalties(ids, today) if ids else {}
    for row in rows:
        row.days_overdue = (today - row.oldest_due).days if row.oldest_due else 0
        row.bucket = aging_bucket(row.oldest_due, today)
        row.bucket_label = AgingBucket(row.bucket).label
        row.penalty = penalties.get(row.pk, ZERO)
        row.dunning_state = row.last_step_kind or NO_DUNNING
        row.dunning_label = DunningStepKind(row.last_step_kind).label if row.last_step_kind else _("No open case")
        row.risk_label = RiskLevel(row.risk_level).label if row.risk_level else ""
        row.next = next_step_of(
            arrears=row.arrears,
            last_kind=row.last_step_kind,
            last_on=row.last_step_on,
            planned_on=row.suspension_planned_on,
            today=today,
        )
    return rows


def rows_iter(queryset: QuerySet, today: datetime.date, chunk: int = 1000) -> Iterator[ElectricityAccount]:
    """The whole list, completed in chunks (the Excel export)."""
    batch: list[ElectricityAccount] = []
    for row in queryset.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) == chunk:
            yield from rows_complete(batch, today)
            batch = []
    if batch:
        yield from rows_complete(batch, today)


def _penalties(account_ids: list[int], today: datetime.date) -> dict[int, Decimal]:
    """The ledger's penalty (``penalty_compute``) on the accounts' unpaid overdue bills, per account."""
    exempt = set(
        BillingTerms.objects.filter(account_id__in=account_ids, penalty_exempt=True).values_list(
            "account_id", flat=True
        )
    )
    bills = list(
        Bill.objects.filter(unpaid_bill_q(), account_id__in=account_ids, due_date__lt=today)
        .exclude(account_id__in=exempt)
        .only("pk", "account_id", "total", "due_date", "period")
        .order_by()
    )
    paid: dict[int, list] = defaultdict(list)
    if bills:
        allocations = (
            Allocation.objects.filter(bill_id__in=[b.pk for b in bills])
            .order_by()
            .values_list("bill_id", "allocated_on", "amount")
        )
        for bill_id, day, amount in allocations:
            paid[bill_id].append((day, amount))
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for bill in bills:
        lines = penalty_compute(
            total=bill.total, due_date=bill.due_date, period=bill.period, payments=paid[bill.pk], today=today
        )
        totals[bill.account_id] += penalty_total(lines)
    return {pk: money(total) for pk, total in totals.items()}


# ---------------------------------------------------------------------------------------------
# Filters and sorting


def _visible_units(request):
    return OrgUnit.objects.none() if request is None else OrgUnit.objects.visible_to(request.user)


def _managers(request):
    """Staff the user sees who manage a customer now (a semi-join: no DISTINCT over the assignments)."""
    if request is None:
        return User.objects.none()
    current = AccountAssignment.objects.filter(
        user=OuterRef("pk"), role=AssignmentRole.MANAGER, end_date__isnull=True
    ).order_by()
    return (
        User.objects.visible_to(request.user)
        .filter(Exists(current), customer__isnull=True)
        .order_by("display_name", "username")
    )


class CollectionsFilterSet(django_filters.FilterSet):
    """The workbench's filters (page and API): search, org unit (and below), risk level, aging bucket of the
    oldest overdue bill, dunning state, account manager."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    org_unit = django_filters.ModelChoiceFilter(
        queryset=_visible_units, method="filter_org_unit", label=_("Org unit (and below)")
    )
    risk_level = django_filters.ChoiceFilter(
        choices=[*RiskLevel.choices, ("none", _("Not scored"))], method="filter_risk", label=_("Risk level")
    )
    bucket = django_filters.ChoiceFilter(choices=OVERDUE_BUCKETS, method="filter_bucket", label=_("Overdue"))
    dunning_state = django_filters.ChoiceFilter(
        choices=DUNNING_STATE_CHOICES, method="filter_dunning", label=_("Dunning state")
    )
    manager = django_filters.ModelChoiceFilter(queryset=_managers, method="filter_manager", label=_("Manager"))

    class Meta:
        model = ElectricityAccount
        fields = ["q", "org_unit", "risk_level", "bucket", "dunning_state", "manager"]

    def __init__(self, *args, today: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account_no__startswith=value) | Q(name__icontains=value) | Q(customer__name__icontains=value)
        )

    def filter_org_unit(self, queryset, name, value):
        return queryset.filter(customer__org_unit__path__startswith=value.path)

    def filter_risk(self, queryset, name, value):
        if value == "none":
            return queryset.filter(risk_level__isnull=True)
        return queryset.filter(risk_level=value)

    def filter_bucket(self, queryset, name, value):
        # The bucket of the account is that of its oldest overdue bill.
        day = datetime.timedelta(days=1)
        if value == AgingBucket.OVER_90:
            return queryset.filter(oldest_due__lt=self.today - day * 90)
        for bucket, low, high in AGING_LIMITS:
            if bucket == value:
                return queryset.filter(oldest_due__lte=self.today - day * low, oldest_due__gte=self.today - day * high)
        return queryset

    def filter_dunning(self, queryset, name, value):
        if value == NO_DUNNING:
            return queryset.filter(last_step_kind__isnull=True)
        return queryset.filter(last_step_kind=value)

    def filter_manager(self, queryset, name, value):
        current = AccountAssignment.objects.filter(
            customer=OuterRef("customer"), user=value, role=AssignmentRole.MANAGER, end_date__isnull=True
        )
        return queryset.filter(Exists(current))


# The sorts offered: each with the columns it orders by; the highest risk and the largest arrears first by
# default, unscored accounts after scored ones.
SORTS: dict[str, tuple[str, ...]] = {
    "risk": ("risk_rank", "arrears"),
    "arrears": ("arrears",),
    "oldest_due": ("oldest_due",),
    "score": ("risk_score",),
    "account": ("account_no",),
    "customer": ("customer__name",),
}
DEFAULT_SORT = "-risk"


def collections_order(queryset: QuerySet, sort: str) -> QuerySet:
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    descending = sort.startswith("-")
    order = [F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True) for field in SORTS[key]]
    return queryset.order_by(*order, "pk")
