"""Writes to the organisation tree and to the statutory days of the working-day calendar."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from . import workdays
from .choices import StatutoryDaySource
from .models import OrgUnit, StatutoryDay


@transaction.atomic
def org_unit_save(*, unit: OrgUnit) -> OrgUnit:
    """Validate and save a unit, rewriting the paths of its sub-units when it moves or is recoded."""
    unit.full_clean()
    old_path = None
    if unit.pk:
        old_path = OrgUnit.objects.filter(pk=unit.pk).values_list("path", flat=True).first()
    unit.path = unit.build_path()
    if old_path and unit.parent_id and unit.parent.path.startswith(old_path):
        raise ValidationError({"parent": [_("A unit cannot be placed under itself or one of its sub-units.")]})
    unit.save()
    if old_path and old_path != unit.path:
        for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).order_by("path"):
            child.path = unit.path + child.path[len(old_path) :]
            child.save(update_fields=["path"])
    return unit


def org_unit_create(*, code: str, name: str, kind: str, parent: OrgUnit | None = None) -> OrgUnit:
    return org_unit_save(unit=OrgUnit(code=code, name=name, kind=kind, parent=parent))


@transaction.atomic
def statutory_day_save(*, day: StatutoryDay) -> StatutoryDay:
    """Validate and save a statutory day entered by hand; it becomes "entered", so loads leave it alone."""
    day.source = StatutoryDaySource.ENTERED
    day.full_clean()
    day.save()
    return day


@transaction.atomic
def statutory_days_load(*, years: Iterable[int] | None = None) -> dict:
    """Bring the statutory days of ``years`` (default: every year the chinese-calendar package knows) in line
    with the package: weekday holidays and weekend make-up working days are created or corrected, package
    rows the package no longer has are removed, and entered rows are never touched. Safe to run again.

    Returns the counts ``{"years", "created", "updated", "removed", "unchanged", "kept_entered"}``; raises
    ``ValidationError`` (nothing written) for a year the package does not know.
    """
    known = workdays.package_years()
    wanted = sorted(set(known if years is None else years))
    unknown = [year for year in wanted if year not in known]
    if unknown:
        raise ValidationError(
            {
                "year": [
                    _(
                        "chinese-calendar %(version)s has the years %(first)d–%(last)d only, not %(years)s: enter "
                        "the State Council's schedule in the admin, or upgrade the package."
                    )
                    % {
                        "version": workdays.package_version(),
                        "first": known[0],
                        "last": known[-1],
                        "years": ", ".join(str(year) for year in unknown),
                    }
                ]
            }
        )
    counts = {"years": wanted, "created": 0, "updated": 0, "removed": 0, "unchanged": 0, "kept_entered": 0}
    if not wanted:
        return counts
    existing = {
        row.day: row for row in StatutoryDay.objects.filter(day__year__in=wanted).select_for_update().order_by("day")
    }
    new, changed = [], []
    package = {entry.day: entry for entry in workdays.package_days(wanted)}
    for entry in package.values():
        row = existing.get(entry.day)
        if row is None:
            new.append(
                StatutoryDay(day=entry.day, working=entry.working, name=entry.name, source=StatutoryDaySource.PACKAGE)
            )
        elif row.source == StatutoryDaySource.ENTERED:
            counts["kept_entered"] += 1
        elif (row.working, row.name) != (entry.working, entry.name):
            row.working, row.name = entry.working, entry.name
            changed.append(row)
        else:
            counts["unchanged"] += 1
    gone = [row.pk for day, row in existing.items() if day not in package and row.source == StatutoryDaySource.PACKAGE]
    counts["kept_entered"] += sum(
        1 for day, row in existing.items() if day not in package and row.source == StatutoryDaySource.ENTERED
    )
    if new:
        bulk_create_with_history(new, StatutoryDay)
    if changed:
        bulk_update_with_history(changed, StatutoryDay, ["working", "name"])
    if gone:
        # One by one so that the history records each removal (a package correction: rare and few).
        for row in StatutoryDay.objects.filter(pk__in=gone):
            row.delete()
    counts.update(created=len(new), updated=len(changed), removed=len(gone))
    # Bulk writes send no signals: clear the cache here, and again once committed (a lookup inside this
    # transaction may have cached rows that a rollback would take back).
    workdays.cache_clear()
    transaction.on_commit(workdays.cache_clear)
    return counts
