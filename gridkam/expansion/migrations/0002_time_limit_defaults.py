"""The time limits of DOMAIN.md: SGCC 2023 totals for the utility's own links (high-voltage single supply 22
working days, dual 32; multiple supplies as dual; low-voltage non-residential 6), and the older per-stage limits
of high voltage (supply plan reply 15 single / 30 dual, design review 10, mid-construction inspection 5, completion
inspection 5, energisation 5). Kinds that build nothing have only the energisation stage's 5 days. Low voltage
(below 10 kV): new connections and capacity increases have the total of 6 and no stage limits (the high-voltage
stage limits exceed the total); the other kinds energisation 5 as in high voltage. Administrators change them on
the time-limit page."""

from django.db import migrations

BUILDING = ("new_connection", "capacity_increase")
OTHERS = ("capacity_reduction", "suspension", "resumption", "tariff_change", "name_change")
MODES = ("single", "dual", "multiple")


def defaults():
    for kind in BUILDING:
        for mode in MODES:
            dual = mode != "single"
            yield "high", kind, mode, "", 32 if dual else 22
            yield "high", kind, mode, "plan_reply", 30 if dual else 15
            yield "high", kind, mode, "design_review", 10
            yield "high", kind, mode, "mid_inspection", 5
            yield "high", kind, mode, "completion_inspection", 5
            yield "high", kind, mode, "energisation", 5
            yield "low", kind, mode, "", 6
    for kind in OTHERS:
        for mode in MODES:
            yield "high", kind, mode, "energisation", 5
            yield "low", kind, mode, "energisation", 5


def seed(apps, schema_editor):
    TimeLimit = apps.get_model("expansion", "TimeLimit")
    existing = set(TimeLimit.objects.values_list("voltage_class", "kind", "supply_mode", "stage"))
    TimeLimit.objects.bulk_create(
        [
            TimeLimit(voltage_class=voltage, kind=kind, supply_mode=mode, stage=stage, working_days=days)
            for voltage, kind, mode, stage, days in defaults()
            if (voltage, kind, mode, stage) not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("expansion", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
