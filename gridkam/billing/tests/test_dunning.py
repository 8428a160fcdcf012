"""The dunning state machine (dunning.step_take, next_step, dunning_on_payment): every allowed and refused
transition, waiting periods on their boundary day, the 3-to-7-day notice, approval, important users, the
suspension day, restoration after payment, and payment stopping the sequence."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gridkam.billing import dunning
from gridkam.billing.choices import DunningStatus, DunningStepKind
from gridkam.billing.ledger import account_penalty, account_reallocate
from gridkam.billing.models import DunningCase
from gridkam.core.testing import make_user
from gridkam.users.choices import Role

from .conftest import make_bill, make_payment

K = DunningStepKind
DAY = datetime.timedelta(days=1)
TODAY = timezone.localdate()
T = TODAY - 30 * DAY  # the day the reminder is served


@pytest.fixture(autouse=True)
def rules(settings):
    settings.GRIDKAM = {
        **settings.GRIDKAM,
        "DUNNING_WAIT_DAYS": {"reminder": 2, "written_notice": 5, "suspension_notice": 0},
        "SUSPENSION_NOTICE_MIN_DAYS": 3,
        "SUSPENSION_NOTICE_MAX_DAYS": 7,
    }


@pytest.fixture
def arrears(account):
    """Two bills past due (10,000.00 and 2,345.67 yuan) and one not yet due."""
    make_bill(account, "2025-01", "10000.00", due=TODAY - 90 * DAY)
    make_bill(account, "2025-02", "2345.67", due=TODAY - 60 * DAY)
    make_bill(account, "2025-03", "999.00", due=TODAY + 5 * DAY)
    return Decimal("12345.67")


def take(p, account, kind, done_on, **kwargs):
    kwargs.setdefault("user", p.clerk)
    return dunning.step_take(account=account, kind=kind, done_on=done_on, **kwargs)


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def notice(p, account, done_on, **kwargs):
    kwargs.setdefault("approved_by", p.supervisor)
    kwargs.setdefault("suspension_planned_on", done_on + 3 * DAY)
    return take(p, account, K.SUSPENSION_NOTICE, done_on, **kwargs)


def up_to_notice(p, account, planned_days: int = 3):
    take(p, account, K.REMINDER, T)
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    return notice(p, account, T + 7 * DAY, suspension_planned_on=T + (7 + planned_days) * DAY)


def pay_all(account, amount="13344.67"):
    make_payment(account, amount, TODAY)
    account_reallocate(account_id=account.pk)


# --- opening a case ---------------------------------------------------------------------------------


def test_no_arrears_no_case(p, account):
    make_bill(account, "2025-03", "999.00", due=TODAY + 5 * DAY)  # not yet due
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.REMINDER, TODAY)
    assert "kind" in errors_of(excinfo)
    assert not DunningCase.objects.exists()
    step = dunning.next_step(account, TODAY)
    assert step.kind is None and not step.allowed


def test_reminder_opens_a_case_with_the_arrears(p, account, arrears):
    assert dunning.next_step(account, T) == dunning.NextStep(K.REMINDER, True, T, dunning.next_step(account, T).reason)
    step = take(p, account, K.REMINDER, T, note="电话已通知")
    case = step.case
    assert case.status == DunningStatus.OPEN and case.opened_on == T
    assert case.arrears_at_open == arrears and step.arrears == arrears
    assert step.done_by == p.clerk and step.note == "电话已通知"
    assert account.account_no in step.notice_text


@pytest.mark.parametrize("kind", [K.WRITTEN_NOTICE, K.SUSPENSION_NOTICE, K.SUSPENSION, K.RESTORATION])
def test_a_case_starts_with_the_reminder(p, account, arrears, kind):
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, kind, T, approved_by=p.supervisor, suspension_planned_on=T + 3 * DAY)
    assert "kind" in errors_of(excinfo)
    assert not DunningCase.objects.exists()


def test_one_open_case_per_account(p, account, arrears):
    take(p, account, K.REMINDER, T)
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.REMINDER, T + 5 * DAY)
    assert "kind" in errors_of(excinfo)
    assert DunningCase.objects.filter(account=account).count() == 1


def test_a_step_cannot_be_dated_in_the_future(p, account, arrears):
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.REMINDER, TODAY + DAY)
    assert "done_on" in errors_of(excinfo)


def test_only_billing_staff_take_steps(p, account, arrears):
    for user in (p.manager, p.engineer, p.customer_user):
        with pytest.raises(PermissionDenied):
            take(p, account, K.REMINDER, T, user=user)
    take(p, account, K.REMINDER, T, user=p.supervisor)


# --- order and waiting periods ----------------------------------------------------------------------


def test_steps_cannot_be_skipped(p, account, arrears):
    take(p, account, K.REMINDER, T)
    for kind in (K.SUSPENSION_NOTICE, K.SUSPENSION, K.RESTORATION):
        with pytest.raises(ValidationError) as excinfo:
            take(p, account, kind, T + 10 * DAY, approved_by=p.supervisor, suspension_planned_on=T + 13 * DAY)
        assert "kind" in errors_of(excinfo)


def test_written_notice_waits_for_the_reminder_period(p, account, arrears):
    take(p, account, K.REMINDER, T)
    step = dunning.next_step(account, T + DAY)
    assert (step.kind, step.allowed, step.allowed_from) == (K.WRITTEN_NOTICE, False, T + 2 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.WRITTEN_NOTICE, T + DAY)  # the day before the boundary
    assert "done_on" in errors_of(excinfo)
    assert dunning.next_step(account, T + 2 * DAY).allowed
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)  # on the boundary day


def test_suspension_notice_waits_for_the_written_notice_period(p, account, arrears):
    take(p, account, K.REMINDER, T)
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, T + 6 * DAY)
    assert list(errors_of(excinfo)) == ["done_on"]
    step = notice(p, account, T + 7 * DAY)
    assert step.approved_by == p.supervisor and step.suspension_planned_on == T + 10 * DAY
    assert step.suspension_planned_time == dunning.DEFAULT_SUSPENSION_TIME


# --- the notice of supply suspension ---------------------------------------------------------------


@pytest.fixture
def noticed(p, account, arrears):
    take(p, account, K.REMINDER, T)
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    return T + 7 * DAY  # the day the suspension notice may be served


def test_suspension_notice_needs_an_approver(p, account, noticed):
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, noticed, approved_by=None)
    assert list(errors_of(excinfo)) == ["approved_by"]


@pytest.mark.parametrize("who", ["clerk", "manager", "other_supervisor"])
def test_the_approver_must_be_a_supervisor_of_the_unit(p, account, noticed, who):
    approver = (
        make_user("sup_b", role=Role.SUPERVISOR, org_unit=p.city_b) if who == "other_supervisor" else getattr(p, who)
    )
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, noticed, approved_by=approver)
    assert list(errors_of(excinfo)) == ["approved_by"]


def test_an_administrator_or_a_province_supervisor_may_approve(p, account, noticed):
    province_supervisor = make_user("sup_gd", role=Role.SUPERVISOR, org_unit=p.province)
    assert set(dunning.approvers_for(account.customer)) == {p.supervisor, p.admin, province_supervisor}
    notice(p, account, noticed, approved_by=p.admin)


@pytest.mark.parametrize(("days", "ok"), [(2, False), (3, True), (7, True), (8, False)])
def test_suspension_is_planned_3_to_7_days_ahead(p, account, noticed, days, ok):
    if ok:
        assert notice(p, account, noticed, suspension_planned_on=noticed + days * DAY)
        return
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, noticed, suspension_planned_on=noticed + days * DAY)
    assert list(errors_of(excinfo)) == ["suspension_planned_on"]


def test_the_notice_limits_are_configurable(p, account, noticed, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "SUSPENSION_NOTICE_MIN_DAYS": 5}
    with pytest.raises(ValidationError):
        notice(p, account, noticed, suspension_planned_on=noticed + 4 * DAY)
    notice(p, account, noticed, suspension_planned_on=noticed + 5 * DAY)


def test_suspension_notice_needs_a_planned_day(p, account, noticed):
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, noticed, suspension_planned_on=None)
    assert list(errors_of(excinfo)) == ["suspension_planned_on"]


def test_an_important_users_notice_must_be_reported(p):
    account = p.a2.accounts.get()  # 惠州石化: a first-class important user
    make_bill(account, "2025-01", "5000.00", due=TODAY - 90 * DAY)
    take(p, account, K.REMINDER, T)
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        notice(p, account, T + 7 * DAY)
    assert list(errors_of(excinfo)) == ["reported_to_authority"]
    step = notice(p, account, T + 7 * DAY, reported_to_authority=True)
    assert step.reported_to_authority
    assert "电力管理部门" in step.notice_text


def test_an_ordinary_user_needs_no_report(p, account, noticed):
    assert not notice(p, account, noticed).reported_to_authority


# --- suspension and restoration --------------------------------------------------------------------


def test_suspension_not_before_the_planned_day(p, account, arrears):
    up_to_notice(p, account, planned_days=5)  # planned T+12
    step = dunning.next_step(account, T + 11 * DAY)
    assert (step.kind, step.allowed, step.allowed_from) == (K.SUSPENSION, False, T + 12 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.SUSPENSION, T + 11 * DAY, warned_before_suspension=True)
    assert list(errors_of(excinfo)) == ["done_on"]
    assert dunning.next_step(account, T + 12 * DAY).allowed
    take(p, account, K.SUSPENSION, T + 12 * DAY, warned_before_suspension=True)


def test_suspension_needs_the_warning_30_minutes_before(p, account, arrears):
    up_to_notice(p, account)
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.SUSPENSION, T + 10 * DAY)
    assert list(errors_of(excinfo)) == ["warned_before_suspension"]
    assert take(p, account, K.SUSPENSION, T + 10 * DAY, warned_before_suspension=True).warned_before_suspension


def test_the_wait_after_the_notice_also_applies_to_the_suspension(p, account, arrears, settings):
    settings.GRIDKAM = {
        **settings.GRIDKAM,
        "DUNNING_WAIT_DAYS": {"reminder": 2, "written_notice": 5, "suspension_notice": 7},
    }
    up_to_notice(p, account, planned_days=3)
    assert dunning.next_step(account, TODAY).allowed_from == T + 14 * DAY
    with pytest.raises(ValidationError):
        take(p, account, K.SUSPENSION, T + 10 * DAY, warned_before_suspension=True)


def test_restoration_only_after_payment(p, account, arrears):
    up_to_notice(p, account)
    take(p, account, K.SUSPENSION, T + 10 * DAY, warned_before_suspension=True)
    step = dunning.next_step(account, TODAY)
    assert (step.kind, step.allowed) == (K.RESTORATION, False)
    with pytest.raises(ValidationError) as excinfo:
        take(p, account, K.RESTORATION, TODAY)
    assert list(errors_of(excinfo)) == ["kind"]

    pay_all(account)
    case = DunningCase.objects.get(account=account)
    assert case.status == DunningStatus.OPEN  # the payment leaves restoration to a person
    step = dunning.next_step(account, TODAY)
    assert (step.kind, step.allowed) == (K.RESTORATION, True)
    restored = take(p, account, K.RESTORATION, TODAY)
    case.refresh_from_db()
    assert (case.status, case.closed_on) == (DunningStatus.CLOSED, TODAY)
    assert restored.notice_text == ""
    assert dunning.next_step(account, TODAY).kind is None


def test_a_partial_payment_keeps_the_case_going(p, account, arrears):
    take(p, account, K.REMINDER, T)
    make_payment(account, "10000.00", TODAY)
    account_reallocate(account_id=account.pk)
    case = DunningCase.objects.get(account=account)
    assert case.status == DunningStatus.OPEN
    assert dunning.next_step(account, TODAY).kind == K.WRITTEN_NOTICE


# --- payment stops the sequence --------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_payment_stops_an_open_case_without_suspension(p, account, arrears, steps):
    take(p, account, K.REMINDER, T)
    if steps > 1:
        take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    if steps > 2:
        notice(p, account, T + 7 * DAY)
    pay_all(account, "12345.67")  # the past-due bills; the one not yet due stays open
    case = DunningCase.objects.get(account=account)
    assert (case.status, case.closed_on) == (DunningStatus.STOPPED, TODAY)
    assert dunning.next_step(account, TODAY).kind is None
    with pytest.raises(ValidationError):
        take(p, account, K.SUSPENSION, TODAY, warned_before_suspension=True)


def test_new_arrears_open_a_new_case_after_a_stopped_one(p, account, arrears):
    take(p, account, K.REMINDER, T)
    pay_all(account, "12345.67")
    make_bill(account, "2025-04", "100.00", due=TODAY - 2 * DAY)
    take(p, account, K.REMINDER, TODAY)
    assert list(DunningCase.objects.filter(account=account).values_list("status", flat=True).order_by("pk")) == [
        DunningStatus.STOPPED,
        DunningStatus.OPEN,
    ]


def test_dunning_on_payment_without_a_case_does_nothing(p, account):
    assert dunning.dunning_on_payment(account.pk) is None


# --- notices ----------------------------------------------------------------------------------------


def test_written_notice_lists_the_accounts_unpaid_bills(p, account, arrears):
    p.a1.address = "惠州市惠城区钢铁大道1号"
    p.a1.save()
    take(p, account, K.REMINDER, T)
    step = take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    text = step.notice_text
    for expected in (
        "电费催缴通知书",
        p.a1.name,
        account.account_no,
        account.name,
        "惠州市惠城区钢铁大道1号",
        "2025年1月",
        "10000.00",
        "2345.67",
        "12345.67",
        "《供电营业规则》",
        p.city_a.name,
    ):
        assert expected in text, expected
    assert "2025年3月" not in text  # not yet due
    penalty = account_penalty(account.pk, T + 2 * DAY)
    assert penalty > 0 and f"{penalty:.2f}" in text
    pay_by = T + 7 * DAY
    assert f"{pay_by.year}年{pay_by.month}月{pay_by.day}日" in text


def test_suspension_notice_names_the_day_and_time(p, account, arrears):
    import datetime as dt

    take(p, account, K.REMINDER, T)
    take(p, account, K.WRITTEN_NOTICE, T + 2 * DAY)
    step = notice(p, account, T + 7 * DAY, suspension_planned_on=T + 11 * DAY, suspension_planned_time=dt.time(14, 30))
    planned = T + 11 * DAY
    assert "欠费停电通知书" in step.notice_text
    assert f"{planned.year}年{planned.month}月{planned.day}日14:30" in step.notice_text
    assert "30分钟" in step.notice_text


def test_notice_is_chinese_whatever_the_language(p, account, arrears):
    from django.utils import translation

    with translation.override("en"):
        step = take(p, account, K.REMINDER, T)
    assert "电费缴费提醒" in step.notice_text and "户号" in step.notice_text


def test_dunning_on_payments_looks_only_at_open_cases(p, account, arrears, django_assert_max_num_queries):
    take(p, account, K.REMINDER, T)
    make_payment(account, "12345.67", TODAY)
    account_reallocate(account_id=account.pk)  # stops the case already; run the bulk hook again anyway
    others = [p.a2.accounts.get().pk, p.a3.accounts.get().pk]
    with django_assert_max_num_queries(1):
        dunning.dunning_on_payments(others)
    assert DunningCase.objects.get(account=account).status == DunningStatus.STOPPED
