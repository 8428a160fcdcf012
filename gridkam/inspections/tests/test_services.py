"""The inspection services: the plan and the due dates, recording a checklist with photos and dangers, the danger's
lifecycle, deadlines by severity, escalation of overdue dangers, and the emergency-power list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gridkam.customers.models import Customer
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification
from gridkam.inspections.choices import (
    CheckResult,
    DangerEventKind,
    DangerStatus,
    EscalationLevel,
    InspectionKind,
    LegalBasis,
    Severity,
)
from gridkam.inspections.models import HiddenDanger, InspectionInterval, InspectionItem
from gridkam.inspections.selectors import due_inspections, emergency_power_gaps
from gridkam.inspections.services import (
    DangerInput,
    danger_advance,
    danger_deliver_notice,
    danger_reinspect,
    dangers_escalate,
    default_deadline,
    intervals_save,
)

from .support import TODAY, danger, inspect, png

DAY = dt.timedelta(days=1)


# --- Plan and due dates ---------------------------------------------------------------------------------------------


def test_the_seeded_plan_has_every_tier_and_class(db):
    rules = {(r.tier, r.importance_class): r.interval_months for r in InspectionInterval.objects.all()}
    assert len(rules) == 20
    assert rules[("third", "special")] == 3
    assert rules[("third", "first")] == 6
    assert rules[("first", "second")] == 6 and rules[("third", "second")] == 12
    assert rules[("special", "none")] == 6 and rules[("third", "none")] == 12


def test_due_date_is_last_plan_inspection_plus_the_interval(p):
    inspect(p.a2, p.engineer, date=dt.date(2026, 1, 10))  # first-class important user: 6 months
    inspect(p.a2, p.engineer, date=dt.date(2025, 3, 1))
    inspect(p.a3, p.engineer, date=dt.date(2025, 5, 20))  # tier 3, not important: 12 months
    rows = {c.pk: c for c in due_inspections(user=p.supervisor, today=TODAY)}
    assert rows[p.a2.pk].last_inspection == dt.date(2026, 1, 10)
    assert (rows[p.a2.pk].interval_months, rows[p.a2.pk].next_due, rows[p.a2.pk].overdue) == (
        6,
        dt.date(2026, 7, 10),
        False,
    )
    assert (rows[p.a3.pk].next_due, rows[p.a3.pk].overdue) == (dt.date(2026, 5, 20), True)
    # Never inspected: due now, overdue, first in the list.
    assert rows[p.a1.pk].next_due is None and rows[p.a1.pk].overdue
    assert p.b1.pk not in rows


def test_a_reinspection_does_not_count_for_the_plan_and_a_rule_change_moves_the_date(p):
    found = danger(p.a3, p.engineer, date=dt.date(2025, 5, 20), notified=True)
    danger_reinspect(danger=found, user=p.engineer, date=dt.date(2025, 6, 10), passed=True, today=TODAY)
    row = due_inspections(user=p.supervisor, today=TODAY).get(pk=p.a3.pk)
    assert row.last_inspection == dt.date(2025, 5, 20)
    intervals_save(values={("third", "none"): 18}, user=p.supervisor)
    row = due_inspections(user=p.supervisor, today=TODAY).get(pk=p.a3.pk)
    assert (row.next_due, row.overdue) == (dt.date(2026, 11, 20), False)


def test_overdue_filter_and_query_count(p, django_assert_num_queries):
    inspect(p.a2, p.engineer, date=dt.date(2026, 3, 1))
    qs = due_inspections(user=p.admin, today=TODAY)
    with django_assert_num_queries(1):
        overdue = {c.pk for c in qs.filter(overdue=True)}
    assert p.a2.pk not in overdue and {p.a1.pk, p.a3.pk, p.b1.pk} <= overdue


@pytest.mark.parametrize("months", [0, 61])
def test_intervals_are_1_to_60_months_and_only_supervisors_edit(p, months):
    with pytest.raises(ValidationError):
        intervals_save(values={("third", "none"): months}, user=p.supervisor)
    with pytest.raises(PermissionDenied):
        intervals_save(values={("third", "none"): 6}, user=p.manager)


# --- Recording ------------------------------------------------------------------------------------------------------


def test_the_checklist_is_stored_as_rows_with_photos_and_a_danger(p):
    inspection = inspect(
        p.a1,
        p.engineer,
        photos=[png()],
        dangers=[DangerInput(item="emergency_power", severity=Severity.MAJOR, description="柴油发电机无法启动")],
        emergency_power="发电机启动失败",
    )
    items = dict(InspectionItem.objects.filter(inspection=inspection).values_list("item", "result"))
    assert len(items) == 8 and items["emergency_power"] == CheckResult.FAIL
    assert inspection.photos.get().content_type == "image/png"
    found = inspection.dangers.get()
    assert found.number == "YH202600001" and found.status == DangerStatus.OPEN
    assert found.legal_basis == LegalBasis.GBT_29328 and "GB/T 29328" in found.legal_basis_text
    assert found.deadline == default_deadline(Severity.MAJOR, TODAY)
    assert list(found.events.values_list("kind", flat=True)) == [DangerEventKind.RAISED]
    # The next danger of the year takes the next number.
    assert danger(p.a2, p.engineer).number == "YH202600002"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dangers": [DangerInput(item="earthing", severity="general", description="x")]}, "danger_earthing"),
        ({"earthing": ""}, "remark_earthing"),
        ({"date": TODAY + DAY, "today": TODAY}, "date"),
        ({"kind": InspectionKind.REINSPECTION}, "kind"),
        ({"photos": [png("x.png").__class__("x.txt", b"hello", "text/plain")]}, "photos"),
    ],
)
def test_recording_errors_are_field_errors_and_nothing_is_saved(p, kwargs, field):
    with pytest.raises(ValidationError) as error:
        inspect(p.a1, p.engineer, **kwargs)
    assert field in error.value.message_dict
    assert not HiddenDanger.objects.exists() and not InspectionItem.objects.exists()


def test_clerks_do_not_record(p):
    with pytest.raises(PermissionDenied):
        inspect(p.a1, p.clerk)


@pytest.mark.parametrize(
    ("severity", "found", "deadline"),
    [
        # 30 days after Mon 2026-06-15 is Wed 2026-07-15.
        (Severity.GENERAL, dt.date(2026, 6, 15), dt.date(2026, 7, 15)),
        # 15 days after Fri 2026-06-05 is Sat 2026-06-20, moved to Mon 06-22.
        (Severity.SERIOUS, dt.date(2026, 6, 5), dt.date(2026, 6, 22)),
        (Severity.MAJOR, dt.date(2026, 6, 15), dt.date(2026, 6, 22)),
    ],
)
def test_deadlines_by_severity(db, severity, found, deadline):
    assert default_deadline(severity, found) == deadline


def test_deadline_days_are_a_setting(db, settings):
    settings.GRIDKAM = {**settings.GRIDKAM, "INSPECTION_DEADLINE_DAYS": {"general": 10, "serious": 5, "major": 3}}
    assert default_deadline(Severity.GENERAL, dt.date(2026, 6, 15)) == dt.date(2026, 6, 25)


# --- Lifecycle ------------------------------------------------------------------------------------------------------


def test_danger_lifecycle_to_closure(p):
    found = danger(p.a1, p.engineer)
    with pytest.raises(ValidationError):  # not re-inspected before the customer has the notice
        danger_reinspect(danger=found, user=p.engineer, date=TODAY, passed=True, today=TODAY)
    with pytest.raises(ValidationError):
        danger_advance(danger=found, to=DangerStatus.RECTIFYING, user=p.engineer)
    found = danger_deliver_notice(danger=found, delivered_on=TODAY, signed_by="张工", user=p.manager, today=TODAY)
    found = danger_advance(danger=found, to=DangerStatus.RECTIFYING, user=p.manager, note="已订购接地材料")
    found = danger_advance(danger=found, to=DangerStatus.REINSPECTION, user=p.manager)
    later = TODAY + 10 * DAY
    danger_reinspect(
        danger=found,
        user=p.engineer,
        date=later,
        passed=False,
        remark="仍超标",
        new_deadline=later + 7 * DAY,
        today=later,
    )
    found.refresh_from_db()
    assert (found.status, found.deadline) == (DangerStatus.RECTIFYING, later + 7 * DAY)
    reinspection = danger_reinspect(
        danger=found, user=p.engineer, date=later + 5 * DAY, passed=True, today=later + 5 * DAY
    )
    found.refresh_from_db()
    assert (found.status, found.closed_on) == (DangerStatus.CLOSED, later + 5 * DAY)
    assert reinspection.kind == InspectionKind.REINSPECTION and reinspection.danger_id == found.pk
    assert list(found.events.values_list("kind", flat=True)) == [
        "raised",
        "notice_delivered",
        "status",
        "status",
        "reinspected_failed",
        "reinspected_passed",
    ]
    with pytest.raises(ValidationError):
        danger_reinspect(danger=found, user=p.engineer, date=later + 5 * DAY, passed=True, today=later + 5 * DAY)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"passed": False, "remark": "仍超标"}, "new_deadline"),
        ({"passed": False, "new_deadline": TODAY + DAY}, "remark"),
    ],
)
def test_a_failed_reinspection_needs_a_new_deadline_and_a_remark(p, kwargs, field):
    found = danger(p.a1, p.engineer, notified=True)
    with pytest.raises(ValidationError) as error:
        danger_reinspect(danger=found, user=p.engineer, date=TODAY, today=TODAY, **kwargs)
    assert field in error.value.message_dict


def test_notice_delivery_is_checked(p):
    found = danger(p.a1, p.engineer)
    with pytest.raises(ValidationError) as error:
        danger_deliver_notice(danger=found, delivered_on=TODAY + DAY, signed_by="", user=p.engineer, today=TODAY)
    assert set(error.value.message_dict) == {"delivered_on", "signed_by"}


# --- Escalation -----------------------------------------------------------------------------------------------------


def _told(event=NotificationEvent.DANGER_OVERDUE):
    return sorted(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))


def test_an_overdue_danger_goes_to_the_manager_then_the_supervisors_once(p, settings):
    found = danger(p.a1, p.engineer)  # deadline 2026-07-15
    assert dangers_escalate(today=found.deadline) == {"manager": 0, "supervisors": 0}
    first = found.deadline + DAY
    assert dangers_escalate(today=first) == {"manager": 1, "supervisors": 0}
    assert dangers_escalate(today=first) == {"manager": 0, "supervisors": 0}  # run twice: nothing new
    assert _told() == ["manager"]
    found.refresh_from_db()
    assert (found.escalation_level, found.escalated_on) == (EscalationLevel.MANAGER, first)
    days = settings.GRIDKAM["INSPECTION_ESCALATE_DAYS"]
    dangers_escalate(today=first + (days - 1) * DAY)
    assert _told() == ["manager"]
    assert dangers_escalate(today=first + days * DAY) == {"manager": 0, "supervisors": 1}
    dangers_escalate(today=first + (days + 1) * DAY)
    assert _told() == ["manager", "supervisor"]
    found.refresh_from_db()
    assert found.escalation_level == EscalationLevel.SUPERVISORS
    assert list(found.events.filter(kind="escalated").values_list("level", flat=True)) == [1, 2]
    text = Notification.objects.filter(recipient=p.supervisor).get().body
    assert found.number in text and p.a1.name in text


def test_a_major_danger_goes_to_the_supervisors_at_once_and_closed_ones_never(p):
    major = danger(p.a2, p.engineer, severity=Severity.MAJOR)
    closed = danger(p.a3, p.engineer, notified=True)
    danger_reinspect(danger=closed, user=p.engineer, date=TODAY, passed=True, today=TODAY)
    today = major.deadline + DAY
    assert dangers_escalate(today=today + 30 * DAY) == {"manager": 1, "supervisors": 1}
    assert _told() == ["manager", "supervisor"]
    assert dangers_escalate(today=today + 31 * DAY) == {"manager": 0, "supervisors": 0}


def test_a_failed_reinspection_restarts_the_escalation(p):
    found = danger(p.a1, p.engineer, notified=True)
    late = found.deadline + DAY
    dangers_escalate(today=late)
    danger_reinspect(
        danger=found,
        user=p.engineer,
        date=late,
        passed=False,
        remark="未整改",
        new_deadline=late + 10 * DAY,
        today=late,
    )
    found.refresh_from_db()
    assert found.escalation_level == EscalationLevel.NONE
    assert dangers_escalate(today=late + 11 * DAY) == {"manager": 1, "supervisors": 0}


def test_a_danger_waiting_for_reinspection_is_not_escalated(p):
    found = danger(p.a1, p.engineer, notified=True)
    danger_advance(danger=found, to=DangerStatus.REINSPECTION, user=p.engineer)
    assert dangers_escalate(today=found.deadline + 30 * DAY) == {"manager": 0, "supervisors": 0}
    found.refresh_from_db()
    assert found.escalation_level == EscalationLevel.NONE and not found.events.filter(kind="escalated").exists()
    assert _told() == []


def test_without_an_account_manager_the_supervisors_are_told_at_once(p):
    from gridkam.customers.models import AccountAssignment

    AccountAssignment.objects.filter(customer=p.a1).update(end_date=TODAY)
    found = danger(p.a1, p.engineer)
    first = found.deadline + DAY
    assert dangers_escalate(today=first) == {"manager": 0, "supervisors": 1}
    assert _told() == ["supervisor"]
    found.refresh_from_db()
    assert (found.escalation_level, found.escalated_on) == (EscalationLevel.SUPERVISORS, first)
    assert list(found.events.filter(kind="escalated").values_list("level", flat=True)) == [2]


def test_when_nobody_can_be_told_nothing_is_recorded(p):
    from gridkam.customers.models import AccountAssignment
    from gridkam.users.models import User

    AccountAssignment.objects.filter(customer=p.a1).update(end_date=TODAY)
    User.objects.filter(role="supervisor").update(is_active=False)
    found = danger(p.a1, p.engineer)
    assert dangers_escalate(today=found.deadline + DAY) == {"manager": 0, "supervisors": 0}
    found.refresh_from_db()
    assert found.escalation_level == EscalationLevel.NONE and not found.events.filter(kind="escalated").exists()


def test_the_severity_is_written_in_the_notification_language_not_the_active_one(p):
    from django.utils import translation

    found = danger(p.a1, p.engineer)
    with translation.override("en"):
        dangers_escalate(today=found.deadline + DAY)
    assert "一般隐患" in Notification.objects.get(recipient=p.manager).body


def test_the_escalation_task(p):
    from gridkam.inspections.tasks import escalate_overdue_dangers

    danger(p.a1, p.engineer, date=dt.date(2025, 1, 6))
    assert escalate_overdue_dangers() == {"manager": 1, "supervisors": 0}
    assert escalate_overdue_dangers() == {"manager": 0, "supervisors": 0}


# --- Emergency power ------------------------------------------------------------------------------------------------


def test_the_emergency_power_list(p, settings):
    def set_(customer, **fields):
        Customer.objects.filter(pk=customer.pk).update(**fields)

    set_(p.a1, importance_class="second", security_load_kw=Decimal("100"), emergency_power_kw=Decimal("119"))
    set_(p.a2, importance_class="first", security_load_kw=Decimal("100"), emergency_power_kw=Decimal("120"))
    set_(p.a3, importance_class="special", security_load_kw=Decimal("0"), emergency_power_kw=Decimal("500"))
    set_(p.a1_sub, importance_class="none", security_load_kw=Decimal("100"), emergency_power_kw=Decimal("0"))
    set_(p.b1, importance_class="temporary", security_load_kw=Decimal("50"), emergency_power_kw=Decimal("0"))
    rows = {c.pk: c for c in emergency_power_gaps(user=p.admin)}
    assert set(rows) == {p.a1.pk, p.a3.pk, p.b1.pk}
    assert rows[p.a1.pk].required_kw == Decimal("120") and rows[p.a1.pk].shortfall_kw == Decimal("1")
    assert rows[p.a3.pk].shortfall_kw is None  # security load unknown: the shortfall cannot be told
    assert {c.pk for c in emergency_power_gaps(user=p.outsider)} == {p.b1.pk}
    settings.GRIDKAM = {**settings.GRIDKAM, "EMERGENCY_POWER_MIN_RATIO": 1.0}
    assert {c.pk for c in emergency_power_gaps(user=p.admin)} == {p.a3.pk, p.b1.pk}
