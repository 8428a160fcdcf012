"""The default inspection plan (docs/inspections.md): months between periodic inspections per tier and importance
class. Rows already there are kept (an administrator's edits survive)."""

from django.db import migrations

TIERS = ("special", "first", "second", "third")
CLASSES = ("special", "first", "second", "temporary", "none")


def months(tier: str, importance_class: str) -> int:
    # Kept here (not imported) so that the migration stays as it was when it ran; services.default_interval_months
    # states the same rule.
    if importance_class == "special":
        return 3
    if importance_class == "first":
        return 6
    if importance_class in ("second", "temporary"):
        return 6 if tier in ("special", "first") else 12
    return 6 if tier == "special" else 12


def seed(apps, schema_editor):
    interval = apps.get_model("inspections", "InspectionInterval")
    have = set(interval.objects.values_list("tier", "importance_class"))
    interval.objects.bulk_create(
        [
            interval(tier=tier, importance_class=cls, interval_months=months(tier, cls))
            for cls in CLASSES
            for tier in TIERS
            if (tier, cls) not in have
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("inspections", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
