"""Project services: acceptance with the configured limits, strict stage order, clock stops, breach reasons,
cancelling, and completion changing the account's master data through the customers' services with history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from gridkam.core.testing import make_tariff
from gridkam.customers.choices import AccountStatus
from gridkam.customers.models import ElectricityAccount, MeteringPoint
from gridkam.expansion import rules
from gridkam.expansion.choices import ProjectKind, ProjectStatus, Stage
from gridkam.expansion.models import Project, TimeLimit
from gridkam.expansion.services import (
    clock_stop_end,
    clock_stop_start,
    days_left,
    documents_add,
    project_cancel,
    project_complete,
    stage_advance,
    time_limit_save,
    time_limits_save,
)

from .support import DAY, PNG, D, account_of, project, spring_festival_2026

pytestmark = pytest.mark.django_db
K = ProjectKind


def walk_to_last(project_, user, *, start=None):
    """Advance through every stage but the last, one day apart from ``start``."""
    day = start or project_.accepted_on
    while rules.next_stage(project_.kind, project_.current_stage) is not None:
        day += DAY
        project_ = stage_advance(project=project_, user=user, on=day)
    return project_, day


def test_defaults_from_domain_are_seeded():
    def limit(kind, mode, stage="", voltage="high"):
        return TimeLimit.objects.get(voltage_class=voltage, kind=kind, supply_mode=mode, stage=stage).working_days

    assert limit(K.NEW_CONNECTION, "single") == 22 and limit(K.NEW_CONNECTION, "dual") == 32
    assert limit(K.CAPACITY_INCREASE, "single", Stage.PLAN_REPLY) == 15
    assert limit(K.CAPACITY_INCREASE, "dual", Stage.PLAN_REPLY) == 30
    assert [limit(K.NEW_CONNECTION, "single", s) for s in ("design_review", "mid_inspection")] == [10, 5]
    assert limit(K.SUSPENSION, "single", Stage.ENERGISATION) == 5
    assert limit(K.NEW_CONNECTION, "single", voltage="low") == limit(K.CAPACITY_INCREASE, "dual", voltage="low") == 6
    assert not TimeLimit.objects.filter(voltage_class="low", kind=K.NEW_CONNECTION).exclude(stage="").exists()
    assert limit(K.SUSPENSION, "single", Stage.ENERGISATION, voltage="low") == 5


def test_a_project_starts_in_its_first_stage_with_its_limits(p):
    pr = project(p, supply_mode="dual")
    assert pr.number.startswith("YK") and pr.status == ProjectStatus.IN_PROGRESS
    assert pr.current_stage == Stage.APPLICATION and pr.time_limit_days == 32
    assert pr.owner == p.manager and pr.account is None
    assert pr.due_date is not None and pr.working_days_used > 0


def test_a_changed_limit_applies_to_new_projects_only(p):
    before = project(p)
    limit = TimeLimit.objects.get(voltage_class="high", kind=K.NEW_CONNECTION, supply_mode="single", stage="")
    with pytest.raises(PermissionDenied):
        time_limit_save(limit=limit, working_days=20, user=p.manager)
    time_limit_save(limit=limit, working_days=20, user=p.supervisor)
    assert project(p).time_limit_days == 20
    before.refresh_from_db()
    assert before.time_limit_days == 22


def test_other_kinds_need_their_account_and_fields(p):
    with pytest.raises(ValidationError) as err:
        project(p, kind=K.TARIFF_CHANGE)
    assert "new_tariff" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        project(p, kind=K.SUSPENSION, account=None)
    assert "account" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        project(p, kind=K.SUSPENSION, account=account_of(p.b1))
    assert "account" in err.value.message_dict


def test_only_people_who_may_change_the_customer_create_and_work_on_projects(p):
    with pytest.raises(PermissionDenied):
        project(p, user=p.outsider)
    with pytest.raises(PermissionDenied):
        project(p, user=p.clerk)
    pr = project(p)
    for user in (p.outsider, p.clerk, p.customer_user):
        with pytest.raises(PermissionDenied):
            stage_advance(project=pr, user=user, on=timezone.localdate())
    assert stage_advance(project=pr, user=p.supervisor, on=timezone.localdate()).current_stage == Stage.SITE_SURVEY


def test_stages_go_in_order_and_none_is_skipped(p):
    pr = project(p)
    day = pr.accepted_on + DAY
    pr = stage_advance(project=pr, user=p.manager, on=day, notes="资料齐全")
    assert pr.current_stage == Stage.SITE_SURVEY
    stages = list(pr.stages.order_by("position"))
    assert [(s.stage, s.started_on, s.ended_on) for s in stages] == [
        (Stage.APPLICATION, pr.accepted_on, day),
        (Stage.SITE_SURVEY, day, None),
    ]
    assert stages[0].notes == "资料齐全"
    with pytest.raises(ValidationError):
        stage_advance(project=pr, user=p.manager, on=day - 2 * DAY)  # before the stage started
    with pytest.raises(ValidationError):
        stage_advance(project=pr, user=p.manager, on=timezone.localdate() + DAY)  # the future
    pr, last_day = walk_to_last(pr, p.manager, start=day)
    assert pr.current_stage == Stage.ENERGISATION
    assert list(pr.stages.order_by("position").values_list("stage", flat=True)) == list(Stage.values)
    with pytest.raises(ValidationError):
        stage_advance(project=pr, user=p.manager, on=last_day)  # the last stage ends by energisation


def test_completing_before_the_last_stage_is_refused(p):
    pr = project(p)
    with pytest.raises(ValidationError):
        project_complete(project=pr, user=p.manager, on=timezone.localdate(), account_no="0899", meter_code="X")


def test_a_late_stage_needs_a_reason(p):
    # Design review has 10 working days; it takes about a month.
    pr = project(p, accepted_on=timezone.localdate() - 80 * DAY)
    for offset in (1, 2, 3):
        pr = stage_advance(project=pr, user=p.manager, on=pr.accepted_on + offset * DAY)
    assert pr.current_stage == Stage.DESIGN_REVIEW
    late = pr.accepted_on + 40 * DAY
    with pytest.raises(ValidationError) as err:
        stage_advance(project=pr, user=p.manager, on=late)
    assert "breach_reason" in err.value.message_dict
    pr = stage_advance(project=pr, user=p.manager, on=late, breach_reason="客户图纸反复修改")
    stage = pr.stages.get(stage=Stage.DESIGN_REVIEW)
    assert stage.breached and stage.breach_reason == "客户图纸反复修改"


def test_clock_stops_are_excluded_from_the_utilitys_days(p):
    spring_festival_2026()
    pr = project(p, accepted_on=D(2026, 2, 13))
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 2, 27))
    survey = pr.stages.get(stage=Stage.APPLICATION)
    assert survey.working_days_used == 5  # across the Spring Festival, the make-up Saturday included
    clock_stop_start(project=pr, user=p.manager, on=D(2026, 3, 2), reason="客户自行设计")
    pr.refresh_from_db()
    assert pr.clock_stopped
    with pytest.raises(ValidationError):
        stage_advance(project=pr, user=p.manager, on=D(2026, 3, 20))  # not while the customer holds the clock
    with pytest.raises(ValidationError):
        clock_stop_start(project=pr, user=p.manager, on=D(2026, 3, 3), reason="again")
    clock_stop_end(project=pr, user=p.manager, on=D(2026, 3, 13))
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 3, 16))
    site = pr.stages.get(stage=Stage.SITE_SURVEY)
    # Feb 27 → Mar 16: 12 working days, minus Mar 3–13 (9) held by the customer.
    assert site.working_days_used == 12 - 9
    pr.refresh_from_db()
    assert not pr.clock_stopped


def test_cancelling_ends_everything_and_keeps_the_master_data(p):
    account = account_of(p.a1)
    pr = project(p, kind=K.SUSPENSION)
    with pytest.raises(ValidationError):
        project_cancel(project=pr, user=p.manager, reason=" ")
    pr = project_cancel(project=pr, user=p.manager, reason="客户撤回申请")
    assert pr.status == ProjectStatus.CANCELLED and not pr.stages.filter(ended_on__isnull=True).exists()
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    with pytest.raises(ValidationError):
        stage_advance(project=pr, user=p.manager, on=timezone.localdate())


def test_documents_are_checked_like_attachments(p):
    pr = project(p)
    stage = pr.stages.get()
    saved = documents_add(stage=stage, uploads=[SimpleUploadedFile("申请表.png", PNG)], user=p.manager)
    assert saved[0].content_type == "image/png" and saved[0].name == "申请表.png"
    with pytest.raises(ValidationError) as err:
        documents_add(stage=stage, uploads=[SimpleUploadedFile("x.exe", b"MZ\x90\x00binary")], user=p.manager)
    assert "documents" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        documents_add(stage=stage, uploads=[SimpleUploadedFile("a.png", PNG)], user=p.outsider)


# --- Completion changes the master data, with history ----------------------------------------------------


def test_a_new_connection_creates_the_account_and_metering_point_with_history(p):
    pr = project(p, supply_mode="dual")
    pr, day = walk_to_last(pr, p.manager)
    tariff = make_tariff()
    with pytest.raises(ValidationError) as err:
        project_complete(project=pr, user=p.manager, on=day)
    assert {"account_no", "meter_code", "meter_no"} <= set(err.value.message_dict)
    pr = project_complete(
        project=pr,
        user=p.manager,
        on=day,
        account_no="0812345678",
        tariff=tariff,
        meter_code="MP-NEW-1",
        meter_no="M-NEW-1",
        ct_ratio=Decimal("200"),
        pt_ratio=Decimal("100"),
    )
    assert pr.status == ProjectStatus.COMPLETED and pr.completed_on == day
    account = ElectricityAccount.objects.get(account_no="0812345678")
    assert pr.account == account and account.capacity_kva == Decimal("3150") and account.supply_mode == "dual"
    assert account.tariff_id == tariff.code and account.customer == p.a1
    point = MeteringPoint.objects.get(code="MP-NEW-1")
    assert point.account == account and point.multiplier == Decimal("20000")
    history = account.history.all()
    assert history.count() == 1 and history[0].history_type == "+" and pr.number in history[0].history_change_reason
    assert pr.number in point.history.get().history_change_reason


def test_a_duplicate_account_number_is_a_field_error(p):
    pr, day = walk_to_last(project(p), p.manager)
    existing = account_of(p.a1)
    with pytest.raises(ValidationError) as err:
        project_complete(
            project=pr, user=p.manager, on=day, account_no=existing.account_no, meter_code="MPX", meter_no="MX"
        )
    assert "account_no" in err.value.message_dict
    assert Project.objects.get(pk=pr.pk).status == ProjectStatus.IN_PROGRESS


def test_a_capacity_increase_changes_capacity_and_contract_demand_with_history(p):
    account = account_of(p.a1)
    before = account.capacity_kva
    pr = project(p, kind=K.CAPACITY_INCREASE, requested_capacity_kva=Decimal("5000"))
    pr, day = walk_to_last(pr, p.manager)
    project_complete(
        project=pr,
        user=p.manager,
        on=day,
        basic_charge_method="contract_demand",
        contract_demand_kw=Decimal("4000"),
        ct_ratio=Decimal("300"),
        pt_ratio=Decimal("100"),
    )
    account.refresh_from_db()
    assert account.capacity_kva == Decimal("5000") and account.contract_demand_kw == Decimal("4000")
    newest, previous = account.history.order_by("-history_id")[:2]
    assert (previous.capacity_kva, newest.capacity_kva) == (before, Decimal("5000"))
    assert pr.number in newest.history_change_reason
    point = account.metering_points.order_by("pk").first()
    assert point.multiplier == Decimal("30000") and point.history.count() == 2


def test_a_capacity_reduction_below_the_contract_demand_asks_for_a_new_one(p):
    account = account_of(p.a1)
    account.basic_charge_method, account.contract_demand_kw = "contract_demand", Decimal("1800")
    account.save()
    pr = project(p, kind=K.CAPACITY_REDUCTION, requested_capacity_kva=Decimal("1000"))
    pr, day = walk_to_last(pr, p.manager)
    with pytest.raises(ValidationError) as err:
        project_complete(project=pr, user=p.manager, on=day)
    assert "contract_demand_kw" in err.value.message_dict
    project_complete(project=pr, user=p.manager, on=day, contract_demand_kw=Decimal("800"))
    account.refresh_from_db()
    assert (account.capacity_kva, account.status) == (Decimal("1000"), AccountStatus.REDUCED)


@pytest.mark.parametrize(
    ("kind", "fields", "field", "value"),
    [
        (K.SUSPENSION, {}, "status", AccountStatus.SUSPENDED),
        (K.NAME_CHANGE, {"new_name": "惠州新材料用电"}, "name", "惠州新材料用电"),
        (K.TARIFF_CHANGE, {"new_tariff": "tariff"}, "tariff_id", "GD-TEST-2P"),
    ],
)
def test_other_kinds_change_the_account_with_history(p, kind, fields, field, value):
    if fields.get("new_tariff") == "tariff":
        fields["new_tariff"] = make_tariff()
    account = account_of(p.a1)
    pr, day = walk_to_last(project(p, kind=kind, **fields), p.manager)
    project_complete(project=pr, user=p.manager, on=day)
    account.refresh_from_db()
    assert getattr(account, field) == value
    assert getattr(account.history.order_by("-history_id").first(), field) == value


def test_resumption_restores_a_suspended_account(p):
    account = account_of(p.a1)
    pr, day = walk_to_last(project(p, kind=K.SUSPENSION, accepted_on=timezone.localdate() - 30 * DAY), p.manager)
    project_complete(project=pr, user=p.manager, on=day)
    pr, day = walk_to_last(project(p, kind=K.RESUMPTION, accepted_on=day), p.manager)
    project_complete(project=pr, user=p.manager, on=day)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert list(account.history.order_by("history_id").values_list("status", flat=True))[-2:] == [
        AccountStatus.SUSPENDED,
        AccountStatus.ACTIVE,
    ]


def test_a_late_project_needs_a_reason_at_energisation(p):
    pr = project(p, kind=K.SUSPENSION, accepted_on=timezone.localdate() - 60 * DAY)
    pr = stage_advance(project=pr, user=p.manager, on=pr.accepted_on + DAY)
    pr = stage_advance(project=pr, user=p.manager, on=pr.accepted_on + 2 * DAY)
    late = pr.accepted_on + 30 * DAY  # energisation's 5 working days are long gone
    with pytest.raises(ValidationError) as err:
        project_complete(project=pr, user=p.manager, on=late)
    assert "breach_reason" in err.value.message_dict
    pr = project_complete(project=pr, user=p.manager, on=late, breach_reason="用户未按期缴费")
    assert pr.breach_reason == "用户未按期缴费"


def test_a_low_voltage_project_takes_the_low_voltage_limits(p):
    """DOMAIN.md: LV non-residential ≤ 6 working days; the class is low below 10 kV."""
    low = project(p, voltage_kv="0.4")
    assert (low.time_limit_days, low.stages.get().limit_days) == (6, None)
    assert project(p, voltage_kv="10").time_limit_days == 22
    assert rules.voltage_class_of("0.4") == "low" and rules.voltage_class_of("10") == "high"


def test_a_stage_ending_on_the_weekend_after_its_friday_due_date_is_not_late(p):
    pr = project(p, kind=K.NAME_CHANGE, new_name="新名称", accepted_on=D(2026, 11, 2))
    pr = stage_advance(project=pr, user=p.manager, on=D(2026, 11, 6))  # energisation (5 days) starts on a Friday
    assert pr.stages.get(stage=Stage.ENERGISATION).due_date == D(2026, 11, 13)
    done = project_complete(project=pr, user=p.manager, on=D(2026, 11, 14))  # Saturday: no reason asked
    stage = done.stages.get(stage=Stage.ENERGISATION)
    assert (stage.working_days_used, stage.breached, done.breach_reason) == (5, False, "")


def test_a_project_energised_on_the_weekend_after_its_friday_due_date_is_not_late(p):
    pr = project(p, voltage_kv="0.4", accepted_on=D(2026, 10, 29))  # low voltage: 6 working days, due Fri 11-06
    assert pr.due_date == D(2026, 11, 6)
    while rules.next_stage(pr.kind, pr.current_stage) is not None:
        pr = stage_advance(project=pr, user=p.manager, on=D(2026, 10, 29))
    fields = {"account_no": "LV-1", "meter_code": "LV-M1", "meter_no": "M1"}
    done = project_complete(project=pr, user=p.manager, on=D(2026, 11, 8), **fields)  # Sunday
    assert (done.status, done.breach_reason) == (ProjectStatus.COMPLETED, "")
    assert days_left(D(2026, 11, 6), today=D(2026, 11, 7)) == 0
    assert days_left(D(2026, 11, 6), today=D(2026, 11, 9)) == -1


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (K.CAPACITY_INCREASE, {"requested_capacity_kva": Decimal("4000")}),
        (K.CAPACITY_REDUCTION, {"requested_capacity_kva": Decimal("1000")}),
        (K.TARIFF_CHANGE, {"new_tariff": "tariff"}),
        (K.NAME_CHANGE, {"new_name": "惠州新材料用电"}),
    ],
)
def test_only_a_resumption_puts_a_suspended_account_back_in_use(p, kind, fields):
    if fields.get("new_tariff") == "tariff":
        fields["new_tariff"] = make_tariff()
    account = account_of(p.a1)
    account.status = AccountStatus.SUSPENDED
    account.save()
    pr, day = walk_to_last(project(p, kind=kind, **fields), p.manager)
    project_complete(project=pr, user=p.manager, on=day)
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED


def test_time_limits_are_saved_all_or_none(p):
    a, b = TimeLimit.objects.order_by("pk")[:2]
    with pytest.raises(ValidationError) as err:
        time_limits_save(changes={a: 7, b: 0}, user=p.supervisor)
    assert list(err.value.message_dict) == [str(b.pk)]
    a.refresh_from_db()
    assert a.working_days != 7
    assert time_limits_save(changes={a: 7, b: 8}, user=p.supervisor) == 2


@pytest.mark.parametrize(
    ("kind", "requested", "message"),
    [
        (K.CAPACITY_INCREASE, "2000", "An increase asks for more"),
        (K.CAPACITY_INCREASE, "1000", "An increase asks for more"),
        (K.CAPACITY_REDUCTION, "2000", "A reduction asks for less"),
        (K.CAPACITY_REDUCTION, "2500", "A reduction asks for less"),
    ],
)
def test_an_increase_asks_for_more_and_a_reduction_for_less(p, kind, requested, message):
    account = account_of(p.a1)
    ElectricityAccount.objects.filter(pk=account.pk).update(capacity_kva=Decimal("2000"))
    account.refresh_from_db()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        project(p, kind=kind, account=account, requested_capacity_kva=Decimal(requested))
    assert message in error.value.message_dict["requested_capacity_kva"][0]
