"""Accounts now name a tariff of the catalogue (a foreign key on the tariff code) instead of free text.

The column keeps its name and values. A code that is not in the catalogue yet becomes a closed
catalogue entry without versions, named after the code, so no account loses its tariff; an empty
code becomes NULL.
"""

import django.db.models.deletion
from django.db import migrations, models


def codes_into_catalogue(apps, schema_editor):
    Account = apps.get_model("customers", "ElectricityAccount")
    HistoricalAccount = apps.get_model("customers", "HistoricalElectricityAccount")
    Tariff = apps.get_model("tariffs", "Tariff")
    Account.objects.filter(tariff_code="").update(tariff_code=None)
    HistoricalAccount.objects.filter(tariff_code="").update(tariff_code=None)
    known = set(Tariff.objects.values_list("code", flat=True))
    used = set(Account.objects.exclude(tariff_code=None).values_list("tariff_code", flat=True))
    Tariff.objects.bulk_create(
        Tariff(
            code=code,
            name=code,
            region="",
            customer_category="industrial_commercial",
            voltage_band="1-10kV",
            structure="two_part",
            description="Created from accounts' tariff codes when the catalogue was introduced; complete it.",
            active=False,
        )
        for code in sorted(used - known)
    )


def tariff_field(**kwargs):
    return models.ForeignKey(
        blank=True,
        db_column="tariff_code",
        null=True,
        to="tariffs.tariff",
        to_field="code",
        verbose_name="tariff",
        **kwargs,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_search_trigram_indexes"),
        ("tariffs", "0001_tariff_catalogue"),
    ]

    operations = [
        migrations.AlterField(
            model_name="electricityaccount",
            name="tariff_code",
            field=models.CharField(max_length=40, null=True, blank=True, db_column="tariff_code", verbose_name="tariff"),
        ),
        migrations.AlterField(
            model_name="historicalelectricityaccount",
            name="tariff_code",
            field=models.CharField(max_length=40, null=True, blank=True, db_column="tariff_code", verbose_name="tariff"),
        ),
        migrations.RunPython(codes_into_catalogue, migrations.RunPython.noop),
        migrations.RenameField(model_name="electricityaccount", old_name="tariff_code", new_name="tariff"),
        migrations.RenameField(model_name="historicalelectricityaccount", old_name="tariff_code", new_name="tariff"),
        migrations.AlterField(
            model_name="electricityaccount",
            name="tariff",
            field=tariff_field(on_delete=django.db.models.deletion.PROTECT, related_name="accounts"),
        ),
        migrations.AlterField(
            model_name="historicalelectricityaccount",
            name="tariff",
            field=tariff_field(
                db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+"
            ),
        ),
    ]
