"""The organisation tree every visibility rule hangs on, and the statutory days of the working-day calendar."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .choices import OrgUnitKind, StatutoryDaySource


class OrgUnitQuerySet(models.QuerySet):
    def subtree_of(self, unit: OrgUnit | None) -> OrgUnitQuerySet:
        if unit is None:
            return self.none()
        return self.filter(path__startswith=unit.path)

    def visible_to(self, user) -> OrgUnitQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_administrator:
            return self.all()
        if user.is_customer_user or user.org_unit_id is None:
            return self.none()
        unit = user.org_unit
        # Staff see their own unit and everything below it, and the chain above it for context.
        ancestor_paths = unit.ancestor_paths()
        return self.filter(models.Q(path__startswith=unit.path) | models.Q(path__in=ancestor_paths))


class OrgUnit(models.Model):
    """A unit of the utility: province company, city company, county company or service centre.

    ``path`` is a materialised path of codes ("/GD/HZ/HZ-KA/") so that "this unit and below"
    is one indexed prefix query, whatever the depth.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=OrgUnitKind.choices, default=OrgUnitKind.CITY)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("path"), max_length=500, editable=False, db_index=True)
    history = HistoricalRecords()

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def ancestor_paths(self) -> list[str]:
        parts = [p for p in self.path.split("/") if p]
        return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]

    def build_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.code}/"

    def clean(self) -> None:
        if "/" in (self.code or ""):
            raise ValidationError({"code": _("A unit code cannot contain '/'.")})
        if self.parent_id and self.pk and self.parent.path.startswith(self.path or "\x00"):
            raise ValidationError({"parent": _("A unit cannot be placed under itself or one of its sub-units.")})


class StatutoryDay(models.Model):
    """A day on which the State Council's holiday schedule departs from the Monday–Friday week.

    ``working`` True: a make-up working day (调休上班) on a Saturday or Sunday; False: a public holiday
    (法定节假日 or a day off in lieu), usually on a weekday. Every other day follows the weekday rule
    (gridkam.core.workdays). Rows come from the chinese-calendar package (``source`` "package",
    reloaded by ``load_statutory_days``) or are entered by administrators, for a year the package does
    not know yet or to correct it (``source`` "entered": never overwritten by a load).
    """

    day = models.DateField(_("day"), unique=True, error_messages={"unique": _("This day is already in the calendar.")})
    working = models.BooleanField(
        _("working day"),
        default=False,
        help_text=_("Ticked: a make-up working day on a weekend. Unticked: a public holiday."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("The holiday, e.g. 春节."))
    source = models.CharField(
        _("source"), max_length=10, choices=StatutoryDaySource.choices, default=StatutoryDaySource.ENTERED
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("statutory day")
        verbose_name_plural = _("statutory days")
        ordering = ["day"]

    def __str__(self) -> str:
        kind = _("working day") if self.working else _("holiday")
        return f"{self.day:%Y-%m-%d} {self.name or kind}"

    def clean(self) -> None:
        # A weekday is a working day anyway: a "make-up working day" there would be a typo for a holiday.
        if self.working and self.day and self.day.weekday() < 5:
            raise ValidationError(
                {
                    "working": _("%(day)s is a weekday: only a Saturday or Sunday can be a make-up working day.")
                    % {"day": self.day.isoformat()}
                }
            )
