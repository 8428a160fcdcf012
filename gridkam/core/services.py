"""Writes to the organisation tree."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import OrgUnit


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
