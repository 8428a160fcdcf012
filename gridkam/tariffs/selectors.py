"""Reads of the tariff catalogue and of accounts' monthly quantities."""

from __future__ import annotations

import datetime

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from gridkam.customers.models import Customer, ElectricityAccount
from gridkam.users.choices import Role
from gridkam.users.permissions import is_active_user

from .choices import VersionStatus
from .models import MonthlyUsage, Tariff, TariffVersion


def tariff_list(*, user) -> QuerySet[Tariff]:
    published = TariffVersion.objects.published()
    return Tariff.objects.visible_to(user).annotate(
        version_count=Count("versions", distinct=True),
        latest_effective=Max("versions__effective_from", filter=Q(versions__status=VersionStatus.PUBLISHED)),
        account_count=Count(
            "accounts", filter=Q(accounts__customer__in=Customer.objects.visible_to(user).values("pk")), distinct=True
        ),
        latest_illustrative=Subquery(
            published.filter(tariff=OuterRef("pk")).order_by("-effective_from").values("illustrative")[:1]
        ),
    )


def tariff_get(*, user, code: str) -> Tariff:
    """The tariff with its versions, newest first; raises Tariff.DoesNotExist outside the user's view."""
    versions = TariffVersion.objects.order_by("-effective_from")
    return (
        Tariff.objects.visible_to(user)
        .prefetch_related(Prefetch("versions", queryset=versions))
        .annotate(
            account_count=Count(
                "accounts", filter=Q(accounts__customer__in=Customer.objects.visible_to(user).values("pk"))
            )
        )
        .get(code=code)
    )


def tariff_version_get(*, user, code: str, effective_from: datetime.date) -> TariffVersion:
    return (
        TariffVersion.objects.visible_to(user)
        .select_related("tariff")
        .get(tariff__code=code, effective_from=effective_from)
    )


def tariff_version_previous(version: TariffVersion) -> TariffVersion | None:
    return (
        TariffVersion.objects.filter(tariff_id=version.tariff_id, effective_from__lt=version.effective_from)
        .order_by("-effective_from")
        .first()
    )


def tariff_version_current(*, code: str, on: datetime.date | None = None) -> TariffVersion | None:
    """The published version in effect today (or on ``on``), else the earliest one yet to come."""
    on = on or timezone.localdate()
    version = TariffVersion.objects.in_effect(code=code, on=on)
    if version is None:
        version = (
            TariffVersion.objects.published()
            .filter(tariff__code=code)
            .select_related("tariff")
            .order_by("effective_from")
            .first()
        )
    return version


def account_get(*, user, pk: int) -> ElectricityAccount:
    return ElectricityAccount.objects.visible_to(user).select_related("customer", "tariff").get(pk=pk)


def accounts_usage_editable(user) -> QuerySet[ElectricityAccount]:
    """Accounts whose monthly quantities the user may enter or import: those whose master data they
    may change, and for billing clerks every account of their unit (billing quantities are their work)."""
    editable = ElectricityAccount.objects.editable_by(user)
    if is_active_user(user) and user.role == Role.BILLING_CLERK and user.org_unit_id:
        return ElectricityAccount.objects.filter(
            Q(pk__in=editable.values("pk")) | Q(customer__org_unit__path__startswith=user.org_unit.path)
        )
    return editable


def monthly_usage_list(*, user) -> QuerySet[MonthlyUsage]:
    return MonthlyUsage.objects.visible_to(user).select_related("account", "account__customer")


def monthly_usage_recent(*, account: ElectricityAccount, months: int = 12) -> list[MonthlyUsage]:
    """The account's latest ``months`` months, oldest first."""
    rows = list(MonthlyUsage.objects.filter(account=account).order_by("-month")[:months])
    rows.reverse()
    return rows
