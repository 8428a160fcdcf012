"""Plan generation: templates (idempotent, reset), occurrence windows per frequency, mid-year generation, owners
by role, skipping customers already planned, bulk generation counts and access."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridkam.customers.choices import AssignmentRole
from gridkam.engagement.choices import Activity, Frequency, PlanChangeKind
from gridkam.engagement.models import PlanChange, PlanItem, PlanOccurrence, PlanTemplate, PlanTemplateItem, ServicePlan
from gridkam.engagement.plans import (
    DEFAULT_TEMPLATES,
    occurrence_windows,
    plan_generate,
    plan_template_item_update,
    plan_templates_load,
    plans_generate,
)

from . import test_plans_support as support
from .test_plans_support import NEW_YEAR, TODAY, set_tier

pytestmark = pytest.mark.django_db
special_plan = support.special_plan  # a fixture
templates = support.templates  # a fixture
D = dt.date


def test_templates_load_is_idempotent_and_reset_restores_defaults(db):
    assert plan_templates_load() == {"created": 4, "reset": 0, "unchanged": 0}
    assert plan_templates_load() == {"created": 0, "reset": 0, "unchanged": 4}
    item = PlanTemplateItem.objects.get(template__tier="special", activity=Activity.VISIT)
    item.frequency = Frequency.QUARTERLY
    item.save()
    PlanTemplateItem.objects.create(
        template=item.template, activity=Activity.OTHER, frequency=Frequency.ANNUAL, owner_role="manager"
    )
    assert plan_templates_load() == {"created": 0, "reset": 0, "unchanged": 4}
    item.refresh_from_db()
    assert item.frequency == Frequency.QUARTERLY  # an edit survives a plain load
    assert plan_templates_load(reset=True) == {"created": 0, "reset": 1, "unchanged": 3}
    item.refresh_from_db()
    assert item.frequency == Frequency.MONTHLY
    assert not PlanTemplateItem.objects.filter(activity=Activity.OTHER).exists()
    for tier, rows in DEFAULT_TEMPLATES.items():
        assert PlanTemplate.objects.get(tier=tier).items.count() == len(rows)
    assert item.history.count() >= 3  # created, edited, reset


def test_default_templates_give_field_work_to_the_field_engineer():
    for rows in DEFAULT_TEMPLATES.values():
        roles = {activity: role for activity, _, role in rows}
        assert roles[Activity.SAFETY_INSPECTION] == AssignmentRole.FIELD_ENGINEER
        assert roles.get(Activity.POWER_QUALITY, AssignmentRole.FIELD_ENGINEER) == AssignmentRole.FIELD_ENGINEER
        assert roles[Activity.VISIT] == AssignmentRole.MANAGER
    special = {a: f for a, f, _ in DEFAULT_TEMPLATES["special"]}
    third = {a: f for a, f, _ in DEFAULT_TEMPLATES["third"]}
    assert special[Activity.VISIT] == Frequency.MONTHLY and third[Activity.VISIT] == Frequency.SEMIANNUAL


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        (Frequency.MONTHLY, [(D(2026, m, 1), None) for m in range(1, 13)]),
        (
            Frequency.QUARTERLY,
            [
                (D(2026, 1, 1), D(2026, 3, 31)),
                (D(2026, 4, 1), D(2026, 6, 30)),
                (D(2026, 7, 1), D(2026, 9, 30)),
                (D(2026, 10, 1), D(2026, 12, 31)),
            ],
        ),
        (Frequency.SEMIANNUAL, [(D(2026, 1, 1), D(2026, 6, 30)), (D(2026, 7, 1), D(2026, 12, 31))]),
        (Frequency.ANNUAL, [(D(2026, 1, 1), D(2026, 12, 31))]),
    ],
)
def test_windows_split_the_year_into_equal_spans(frequency, expected):
    windows = occurrence_windows(2026, frequency)
    assert [w.seq for w in windows] == list(range(1, len(expected) + 1))
    for window, (start, due) in zip(windows, expected, strict=True):
        assert window.starts_on == start
        if due is not None:
            assert window.due_date == due
    if frequency == Frequency.MONTHLY:
        assert windows[1].due_date == D(2026, 2, 28) and windows[11].due_date == D(2026, 12, 31)


def test_plan_from_the_template_with_owners_by_role(p, special_plan):
    items = {i.activity: i for i in special_plan.items.all()}
    assert set(items) == {a for a, _, _ in DEFAULT_TEMPLATES["special"]}
    assert items[Activity.VISIT].owner == p.manager
    assert items[Activity.SAFETY_INSPECTION].owner == p.engineer
    assert items[Activity.POWER_QUALITY].owner == p.engineer
    occurrences = PlanOccurrence.objects.filter(item__plan=special_plan)
    assert occurrences.count() == 12 + 4 + 2 + 1 + 1 + 1
    # The denormalised copies equal the item's.
    for o in occurrences.select_related("item"):
        assert (o.owner_id, o.customer_id, o.activity) == (o.item.owner_id, p.a1.pk, o.item.activity)
    assert PlanChange.objects.get(plan=special_plan).kind == PlanChangeKind.GENERATED


def test_owner_falls_back_to_the_manager_and_to_nobody(p, templates):
    set_tier(p.a2, "special")  # A2 has a manager but no field engineer
    plan = plan_generate(customer=p.a2, year=2026, user=p.supervisor, today=NEW_YEAR)
    assert set(plan.items.values_list("owner", flat=True)) == {p.manager.pk}
    from gridkam.customers.models import AccountAssignment

    AccountAssignment.objects.filter(customer=p.a3).update(end_date=D(2026, 1, 1))
    plan = plan_generate(customer=p.a3, year=2026, user=p.supervisor, today=NEW_YEAR)
    assert set(plan.items.values_list("owner", flat=True)) == {None}
    assert set(PlanOccurrence.objects.filter(item__plan=plan).values_list("owner", flat=True)) == {None}


def test_generated_mid_year_only_plans_what_is_still_due(p, templates):
    set_tier(p.a1, "special")
    plan = plan_generate(customer=p.a1, year=2026, user=p.manager, today=TODAY)
    visits = PlanOccurrence.objects.filter(item__plan=plan, activity=Activity.VISIT)
    assert list(visits.values_list("seq", flat=True)) == list(range(5, 13))  # May (due 31 May) to December
    inspections = PlanOccurrence.objects.filter(item__plan=plan, activity=Activity.SAFETY_INSPECTION)
    assert list(inspections.values_list("due_date", flat=True)) == [D(2026, 6, 30), D(2026, 9, 30), D(2026, 12, 31)]
    assert not PlanOccurrence.objects.filter(item__plan=plan, due_date__lt=TODAY).exists()


def test_a_second_generation_is_refused_and_bulk_skips_planned_customers(p, special_plan):
    with pytest.raises(ValidationError) as error:
        plan_generate(customer=p.a1, year=2026, user=p.supervisor, today=NEW_YEAR)
    assert "year" in error.value.message_dict
    counts = plans_generate(year=2026, user=p.supervisor, today=NEW_YEAR)
    # The supervisor of city A sees A1 (planned), A1-sub, A2, A3; not B1.
    assert counts["created"] == 3 and counts["skipped"] == 1
    assert not ServicePlan.objects.filter(customer=p.b1).exists()
    again = plans_generate(year=2026, user=p.supervisor, today=NEW_YEAR)
    assert again["created"] == 0 and again["skipped"] == 4
    assert ServicePlan.objects.filter(year=2026).count() == 4


def test_bulk_generation_counts_items_and_occurrences(p, templates):
    for customer in (p.a1, p.a1_sub, p.a2, p.a3, p.b1):
        set_tier(customer, "third")
    counts = plans_generate(year=2026, user=None, today=NEW_YEAR)  # a command: everyone
    third = DEFAULT_TEMPLATES["third"]
    per_plan = 2 + 1 + 1  # semi-annual visit, annual inspection, annual tariff review
    assert counts["created"] == 5
    assert counts["items"] == 5 * len(third) == PlanItem.objects.count()
    assert counts["occurrences"] == 5 * per_plan == PlanOccurrence.objects.count()
    assert PlanChange.objects.filter(kind=PlanChangeKind.GENERATED).count() == 5


def test_customers_without_a_template_are_skipped(p, db):
    counts = plans_generate(year=2026, user=None, today=NEW_YEAR)
    assert counts["created"] == 0 and counts["no_template"] == 5
    with pytest.raises(ValidationError) as error:
        plan_generate(customer=p.a1, year=2026, user=None, today=NEW_YEAR)
    assert "customer" in error.value.message_dict


@pytest.mark.parametrize("name", ["manager", "colleague", "engineer", "clerk", "outsider"])
def test_only_supervisors_and_admins_generate_in_bulk(p, templates, name):
    with pytest.raises(PermissionError):
        plans_generate(year=2026, user=getattr(p, name), today=NEW_YEAR)
    assert not ServicePlan.objects.exists()


def test_one_customers_plan_by_its_team_only(p, templates):
    plan_generate(customer=p.a1, year=2026, user=p.engineer, today=NEW_YEAR)
    for name in ("clerk", "outsider", "colleague", "customer_user"):
        with pytest.raises(PermissionError):
            plan_generate(customer=p.a2, year=2026, user=getattr(p, name), today=NEW_YEAR)
    plan_generate(customer=p.b1, year=2026, user=p.admin, today=NEW_YEAR)


@pytest.mark.parametrize("year", [2024, 2028])
def test_years_out_of_range_are_field_errors(p, templates, year):
    with pytest.raises(ValidationError) as error:
        plans_generate(year=year, user=p.supervisor, today=TODAY)
    assert "year" in error.value.message_dict


def test_template_edits_apply_to_plans_generated_afterwards(p, templates):
    item = PlanTemplateItem.objects.get(template__tier="third", activity=Activity.VISIT)
    with pytest.raises(PermissionError):
        plan_template_item_update(item=item, user=p.manager, frequency=Frequency.QUARTERLY)
    with pytest.raises(PermissionError):  # a city's supervisor: the templates serve every city
        plan_template_item_update(item=item, user=p.supervisor, frequency=Frequency.QUARTERLY)
    editor = support.province_supervisor(p)
    plan_template_item_update(item=item, user=editor, frequency=Frequency.QUARTERLY)
    assert item.history.first().history_user == editor
    plan = plan_generate(customer=p.a3, year=2026, user=p.colleague, today=NEW_YEAR)
    assert plan.items.get(activity=Activity.VISIT).frequency == Frequency.QUARTERLY
    with pytest.raises(ValidationError):
        plan_template_item_update(item=item, user=editor, owner_role="backup_manager")
