"""Writes the demo utility made by generator.py into the database (``seed_demo``).

Rows go in with ``bulk_create`` in batches, because 20,000 key accounts one ``save()`` at a time
take minutes; their creation is still recorded in the change history, in bulk as well. The
generator's output is valid by construction (tests run ``full_clean`` over a whole seed), so the
per-row service validation is not repeated here, but tiers come from the configured tier rules
exactly as ``customer_save`` computes them.

The sample tariffs and the statutory days (holidays, make-up working days) are loaded first, each
account is put on the tariff for its voltage, and usage.py adds months of quantities per account, so
bills and the cost advisor have something to work on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from gridkam.core.models import OrgUnit
from gridkam.core.services import org_unit_create, statutory_days_load
from gridkam.customers.choices import TIER_RANK, AccountStatus
from gridkam.customers.models import (
    AccountAssignment,
    Contact,
    Customer,
    ElectricityAccount,
    Industry,
    MeteringPoint,
)
from gridkam.customers.rules import supply_gaps, tier_for
from gridkam.customers.services import pinyin_initials, tier_thresholds
from gridkam.servicedesk.sla import sla_policies_load
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage, TariffVersion
from gridkam.tariffs.services import sample_tariffs_load
from gridkam.users.choices import Role
from gridkam.users.models import Team, User

from .generator import AccountSpec, CustomerSpec, DemoData, Taken, generate, industry_codes, org_unit_specs
from .usage import (
    DEFAULT_MONTHS,
    DEMO_TARIFF_CODES,
    account_usage,
    demo_tariff_code,
    last_complete_month,
    months_ending,
)

# Every demo login shares this password; `demo_logins` prints it. Demo data only: a real
# deployment creates its users by hand or from its directory.
DEMO_PASSWORD = "GridKAM-demo-2026"
BATCH_SIZE = 2000
HISTORY_REASON = "seed_demo"


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def close(self) -> Any: ...


# A tqdm-like factory: progress(total=..., desc=..., unit=...) returns a bar.
ProgressFactory = Callable[..., Progress]


class _NoProgress:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def demo_org_units() -> dict[str, OrgUnit]:
    """The demo organisation (province, cities, service centres, counties), found by code or created."""
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[s.code for s in org_unit_specs()])}
    for spec in org_unit_specs():
        if spec.code not in units:
            parent = units[spec.parent_code] if spec.parent_code else None
            units[spec.code] = org_unit_create(code=spec.code, name=spec.name, kind=spec.kind, parent=parent)
    return units


def _taken() -> Taken:
    """Identifiers already used, so a seed added to an existing database never collides with it."""
    return Taken(
        names=set(Customer.objects.values_list("name", flat=True)),
        credit_codes=set(Customer.objects.values_list("credit_code", flat=True)),
        account_nos=set(ElectricityAccount.objects.values_list("account_no", flat=True)),
        meter_nos=set(MeteringPoint.objects.values_list("meter_no", flat=True)),
    )


def _bulk(
    model: type[models.Model], objs: Sequence[models.Model], bar: Progress, when: dt.datetime
) -> list[models.Model]:
    created: list[models.Model] = []
    for start in range(0, len(objs), BATCH_SIZE):
        chunk = objs[start : start + BATCH_SIZE]
        created.extend(
            bulk_create_with_history(
                chunk, model, batch_size=BATCH_SIZE, default_change_reason=HISTORY_REASON, default_date=when
            )
        )
        bar.update(len(chunk))
    return created


def _bulk_stream(model: type[models.Model], objs: Iterable[models.Model], bar: Progress, when: dt.datetime) -> int:
    """``_bulk`` for rows made on the fly: one batch in memory at a time; returns how many were written."""
    written = 0
    chunk: list[models.Model] = []
    for obj in objs:
        chunk.append(obj)
        if len(chunk) == BATCH_SIZE:
            written += len(_bulk(model, chunk, bar, when))
            chunk = []
    if chunk:
        written += len(_bulk(model, chunk, bar, when))
    return written


def _sample_tariffs() -> None:
    """The shipped sample tariffs, loaded or found unchanged; the demo accounts are put on them."""
    report = sample_tariffs_load()
    if not report.ok:
        problems = [f"{where}: {message}" for where, messages in report.errors.items() for message in messages]
        raise ValidationError(_("The sample tariffs cannot be loaded: %(problems)s") % {"problems": " ".join(problems)})


def _calendar_hours(months: Sequence[dt.date]) -> dict[str, list[tuple[dt.date, dict[str, int]]]]:
    """Per demo tariff, each month with its hours of each time-of-use period under the version in effect on
    the month's first day (the earliest version for months before any)."""
    versions: dict[str, list[TariffVersion]] = {}
    published = TariffVersion.objects.published().filter(tariff__code__in=DEMO_TARIFF_CODES)
    for version in published.select_related("tariff").order_by("effective_from"):
        versions.setdefault(version.tariff.code, []).append(version)
    hours = {}
    for code in DEMO_TARIFF_CODES:
        calendars = [(version.effective_from, version.tou_calendar()) for version in versions[code]]
        rows = []
        for month in months:
            tou = next((tou for start, tou in reversed(calendars) if start <= month), calendars[0][1])
            rows.append((month, tou.hours_by_period(month.year, month.month)))
        hours[code] = rows
    return hours


def _usage_rows(
    accounts: Sequence[tuple[CustomerSpec, AccountSpec, int]],
    *,
    seed: int,
    hours: Mapping[str, list[tuple[dt.date, dict[str, int]]]],
) -> Iterator[MonthlyUsage]:
    for customer, spec, account_id in accounts:
        months = account_usage(
            spec, industry_code=customer.industry_code, seed=seed, hours=hours[demo_tariff_code(spec.voltage_kv)]
        )
        for m in months:
            yield MonthlyUsage(
                account_id=account_id,
                month=m.month,
                sharp_kwh=m.sharp_kwh,
                peak_kwh=m.peak_kwh,
                flat_kwh=m.flat_kwh,
                valley_kwh=m.valley_kwh,
                deep_valley_kwh=m.deep_valley_kwh,
                lagging_kvarh=m.lagging_kvarh,
                leading_kvarh=m.leading_kvarh,
                max_demand_kw=m.max_demand_kw,
                source=UsageSource.IMPORTED,
            )


def _staff(data: DemoData, units: dict[str, OrgUnit], password_hash: str) -> tuple[dict[str, User], int, int]:
    """Teams and staff, reusing those that exist (matched by unit and name, and by username)."""
    teams: dict[tuple[str, str], Team] = {}
    teams_created = 0
    for spec in data.teams:
        team, created = Team.objects.get_or_create(org_unit=units[spec.org_unit_code], name=spec.name)
        teams[(spec.org_unit_code, spec.name)] = team
        teams_created += created
    usernames = [s.username for s in data.staff]
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    new = [
        User(
            username=s.username,
            display_name=s.display_name,
            role=s.role,
            org_unit=units[s.org_unit_code] if s.org_unit_code else None,
            team=teams[s.team] if s.team else None,
            phone=s.phone,
            email=f"{s.username}@gridkam.example.com",
            is_staff=s.is_superuser,
            is_superuser=s.is_superuser,
            password=password_hash,
        )
        for s in data.staff
        if s.username not in users
    ]
    for user in User.objects.bulk_create(new):
        users[user.username] = user
    for spec in data.teams:
        team = teams[(spec.org_unit_code, spec.name)]
        if team.lead_id is None:
            team.lead = users[spec.lead]
            team.save(update_fields=["lead"])
    return users, teams_created, len(new)


@transaction.atomic
def demo_seed(
    *,
    accounts: int = 200,
    seed: int = 1,
    usage_months: int = DEFAULT_MONTHS,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Add a demo utility with ``accounts`` key-account customers; return a summary for people and scripts.

    Each account gets the sample tariff of its voltage and ``usage_months`` months of quantities
    ending with the last complete month (0: none). Deterministic for a seed (and month) on an empty
    database. On a database that already has customers the new ones avoid its names and numbers, and
    existing org units, teams and users are reused.
    """
    started = time.monotonic()
    progress = progress or _NoProgress
    if usage_months < 0:
        raise ValidationError(_("The number of months of quantities cannot be negative."))
    missing = industry_codes() - set(Industry.objects.filter(code__in=industry_codes()).values_list("code", flat=True))
    if missing:
        raise ValidationError(
            _("Industries %(codes)s are missing: run the migrations first.") % {"codes": ", ".join(sorted(missing))}
        )
    _sample_tariffs()
    # Time limits and SLA clocks count working days: the holidays and make-up days the package knows; the
    # service desk's default SLA policies.
    statutory_days_load()
    sla_policies_load()

    bar = progress(total=accounts, desc="generating", unit="customer")
    data = generate(accounts=accounts, seed=seed, taken=_taken(), progress=bar.update)
    bar.close()

    units_before = OrgUnit.objects.filter(code__in=[s.code for s in data.org_units]).count()
    units = demo_org_units()
    # One hash for every demo login: Argon2 takes ~0.1 s per hash on purpose, and the password is the
    # same anyway.
    password_hash = make_password(DEMO_PASSWORD)
    users, teams_created, staff_created = _staff(data, units, password_hash)

    rules = tier_thresholds()
    customers = data.customers
    tiers = {
        c.index: tier_for(
            rules=rules,
            annual_energy_mwh=c.annual_energy_mwh,
            capacity_kva=Decimal(c.capacity_kva),
            importance_class=c.importance_class,
        )
        for c in customers
    }
    n_accounts = sum(len(c.accounts) for c in customers)
    n_points = sum(len(a.points) for c in customers for a in c.accounts)
    n_contacts = sum(len(c.contacts) for c in customers)
    n_assignments = sum(len(c.assignments) for c in customers)
    total = len(customers) + n_accounts + n_points + n_contacts + n_assignments
    bar = progress(total=total, desc="writing", unit="row")
    when = timezone.now()

    def customer_row(spec: CustomerSpec, parent_id: int | None) -> Customer:
        return Customer(
            credit_code=spec.credit_code,
            name=spec.name,
            name_initials=pinyin_initials(spec.name),
            industry_id=spec.industry_code,
            address=spec.address,
            org_unit=units[spec.org_unit_code],
            parent_id=parent_id,
            credit_rating=spec.credit_rating,
            annual_energy_mwh=spec.annual_energy_mwh,
            importance_class=spec.importance_class,
            security_load_kw=spec.security_load_kw,
            emergency_power_kw=spec.emergency_power_kw,
            tier=tiers[spec.index],
            tier_computed=tiers[spec.index],
        )

    # Group heads first: their subsidiaries need the heads' primary keys.
    pk_by_index: dict[int, int] = {}
    heads = [c for c in customers if c.parent_index is None]
    for spec, row in zip(heads, _bulk(Customer, [customer_row(c, None) for c in heads], bar, when), strict=True):
        pk_by_index[spec.index] = row.pk
    members = [c for c in customers if c.parent_index is not None]
    rows = [customer_row(c, pk_by_index[c.parent_index]) for c in members]
    for spec, row in zip(members, _bulk(Customer, rows, bar, when), strict=True):
        pk_by_index[spec.index] = row.pk

    account_specs = [(c, a) for c in customers for a in c.accounts]
    account_rows = _bulk(
        ElectricityAccount,
        [
            ElectricityAccount(
                account_no=a.account_no,
                name=a.name,
                customer_id=pk_by_index[c.index],
                voltage_kv=a.voltage_kv,
                capacity_kva=Decimal(a.capacity_kva),
                tariff_id=demo_tariff_code(a.voltage_kv),
                basic_charge_method=a.basic_charge_method,
                contract_demand_kw=Decimal(a.contract_demand_kw) if a.contract_demand_kw is not None else None,
                pf_standard=a.pf_standard,
                supply_mode=a.supply_mode,
                status=a.status,
            )
            for c, a in account_specs
        ],
        bar,
        when,
    )
    _bulk(
        MeteringPoint,
        [
            MeteringPoint(
                code=p.code,
                account_id=row.pk,
                meter_no=p.meter_no,
                ct_ratio=Decimal(p.ct_ratio),
                pt_ratio=Decimal(p.pt_ratio),
                multiplier=Decimal(p.multiplier),
                purpose=p.purpose,
            )
            for (_, a), row in zip(account_specs, account_rows, strict=True)
            for p in a.points
        ],
        bar,
        when,
    )
    _bulk(
        Contact,
        [
            Contact(
                customer_id=pk_by_index[c.index],
                name=k.name,
                role=k.role,
                phone=k.phone,
                email=k.email,
                is_primary=k.is_primary,
            )
            for c in customers
            for k in c.contacts
        ],
        bar,
        when,
    )
    _bulk(
        AccountAssignment,
        [
            AccountAssignment(
                customer_id=pk_by_index[c.index],
                role=a.role,
                user_id=users[a.username].pk,
                start_date=a.start_date,
                end_date=a.end_date,
                reason=a.reason,
            )
            for c in customers
            for a in c.assignments
        ],
        bar,
        when,
    )
    bar.close()

    usage_written = 0
    if usage_months:
        months = months_ending(last_complete_month(timezone.localdate()), usage_months)
        with_usage = [
            (c, a, row.pk)
            for (c, a), row in zip(account_specs, account_rows, strict=True)
            if a.status != AccountStatus.CLOSED
        ]
        bar = progress(total=len(with_usage) * len(months), desc="monthly usage", unit="row")
        rows = _usage_rows(with_usage, seed=seed, hours=_calendar_hours(months))
        usage_written = _bulk_stream(MonthlyUsage, rows, bar, when)
        bar.close()

    existing_portal = set(
        User.objects.filter(username__in=[p.username for p in data.portal_users]).values_list("username", flat=True)
    )
    portal = User.objects.bulk_create(
        [
            User(
                username=p.username,
                display_name=p.display_name,
                role=Role.CUSTOMER_USER,
                customer_id=pk_by_index[p.customer_index],
                email=p.email,
                phone=p.phone,
                password=password_hash,
            )
            for p in data.portal_users
            if p.username not in existing_portal
        ]
    )
    return _summary(
        data,
        tiers=Counter(tiers.values()),
        seed=seed,
        requested=accounts,
        org_units=len(units) - units_before,
        teams_created=teams_created,
        staff_created=staff_created,
        portal_created=len(portal),
        usage_months=usage_months,
        monthly_usage=usage_written,
        seconds=time.monotonic() - started,
    )


def _gap_count(customers: Iterable) -> int:
    ratio = Decimal(str(settings.GRIDKAM["EMERGENCY_POWER_MIN_RATIO"]))
    return sum(
        1
        for c in customers
        if supply_gaps(
            importance_class=c.importance_class,
            supply_modes=[(a.supply_mode, a.status) for a in c.accounts],
            security_load_kw=c.security_load_kw,
            emergency_power_kw=c.emergency_power_kw,
            min_emergency_ratio=ratio,
        )
    )


def _summary(
    data: DemoData, *, tiers: Counter, seed: int, requested: int, usage_months: int, seconds: float, **created: int
) -> dict[str, Any]:
    customers = data.customers
    accounts = [a for c in customers for a in c.accounts]
    return {
        "seed": seed,
        "requested": requested,
        "created": {
            "org_units": created["org_units"],
            "teams": created["teams_created"],
            "staff": created["staff_created"],
            "customers": len(customers),
            "group_subsidiaries": sum(1 for c in customers if c.parent_index is not None),
            "electricity_accounts": len(accounts),
            "metering_points": sum(len(a.points) for a in accounts),
            "contacts": sum(len(c.contacts) for c in customers),
            "assignments": sum(len(c.assignments) for c in customers),
            "portal_users": created["portal_created"],
            "monthly_usage": created["monthly_usage"],
        },
        "usage_months": usage_months,
        "tariffs": dict(sorted(Counter(demo_tariff_code(a.voltage_kv) for a in accounts).items())),
        "tiers": {str(tier): n for tier, n in sorted(tiers.items(), key=lambda kv: TIER_RANK[kv[0]])},
        "importance_classes": dict(sorted(Counter(str(c.importance_class) for c in customers).items())),
        "voltages_kv": dict(sorted(Counter(a.voltage_kv for a in accounts).items(), key=lambda kv: float(kv[0]))),
        "accounts_not_in_use": sum(1 for a in accounts if a.status != AccountStatus.ACTIVE),
        "customers_with_supply_gaps": _gap_count(customers),
        "seconds": round(seconds, 1),
    }
