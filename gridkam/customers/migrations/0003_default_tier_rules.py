from decimal import Decimal

from django.db import migrations

# Defaults a utility starts from; supervisors change them on the tier rules page.
DEFAULTS = [
    ("special", Decimal("100000"), Decimal("50000"), ["special"]),
    ("first", Decimal("20000"), Decimal("10000"), ["first"]),
    ("second", Decimal("5000"), Decimal("3150"), ["second", "temporary"]),
]


def create(apps, schema_editor):
    TierRule = apps.get_model("customers", "TierRule")
    for tier, energy, capacity, classes in DEFAULTS:
        TierRule.objects.get_or_create(
            tier=tier,
            defaults={"min_annual_energy_mwh": energy, "min_capacity_kva": capacity, "importance_classes": classes},
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_user_links")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
