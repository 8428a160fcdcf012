"""The working-day calendar: statutory days from chinese-calendar and entered by hand, the weekday rule for
years without any, the counting convention (the first day is not counted), the one-query-per-year cache, the
load service and command, and the admin."""

from __future__ import annotations

import datetime as dt
import io
import json
from unittest import mock

import chinese_calendar
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkam.core import workdays
from gridkam.core.choices import StatutoryDaySource
from gridkam.core.models import StatutoryDay
from gridkam.core.services import statutory_day_save, statutory_days_load
from gridkam.core.workdays import (
    add_working_days,
    calendar_coverage,
    is_working_day,
    next_working_day,
    working_days_between,
)

pytestmark = pytest.mark.django_db

D = dt.date


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture
def loaded():
    return statutory_days_load(years=[2025, 2026])


# --- The package's data, as loaded ---


def test_spring_festival_2026_follows_the_package(loaded):
    # The package's own answer, not dates typed in here: Feb 15-23 off, Saturdays Feb 14 and Feb 28 worked.
    holidays = [d for d in days(D(2026, 2, 1), D(2026, 3, 1)) if chinese_calendar.is_holiday(d)]
    make_up = [d for d in days(D(2026, 2, 1), D(2026, 3, 1)) if chinese_calendar.is_workday(d) and d.weekday() >= 5]
    assert [d for d in holidays if d.day >= 14 and d.month == 2] == days(D(2026, 2, 15), D(2026, 2, 23))
    assert make_up == [D(2026, 2, 14), D(2026, 2, 28)]
    for day in days(D(2026, 2, 1), D(2026, 3, 1)):
        assert is_working_day(day) == chinese_calendar.is_workday(day), day
    assert StatutoryDay.objects.get(day=D(2026, 2, 16)).name == "春节"
    assert StatutoryDay.objects.get(day=D(2026, 2, 14)).working is True


def test_national_day_2025_and_its_make_up_days(loaded):
    assert not any(is_working_day(d) for d in days(D(2025, 10, 1), D(2025, 10, 8)))
    assert is_working_day(D(2025, 9, 28))  # a Sunday
    assert is_working_day(D(2025, 10, 11))  # a Saturday
    assert is_working_day(D(2025, 10, 9)) and not is_working_day(D(2025, 10, 12))
    assert StatutoryDay.objects.get(day=D(2025, 10, 6)).name == "中秋"


def test_only_days_that_change_the_answer_are_loaded(loaded):
    # A holiday on a Saturday or Sunday is off anyway; a make-up day always falls on a weekend.
    assert not StatutoryDay.objects.filter(day=D(2026, 2, 15)).exists()
    for row in StatutoryDay.objects.all():
        assert row.working == (row.day.weekday() >= 5)
        assert row.source == StatutoryDaySource.PACKAGE


def test_every_year_of_the_package_agrees_with_it():
    statutory_days_load()
    for year in workdays.package_years():
        for day in days(D(year, 1, 1), D(year, 12, 31)):
            assert is_working_day(day) == chinese_calendar.is_workday(day), day


# --- Years the package does not know ---


def test_a_year_without_statutory_days_follows_the_weekday_rule(loaded):
    assert is_working_day(D(2027, 1, 1))  # a Friday; New Year's Day, but 2027 is not entered
    assert not is_working_day(D(2027, 1, 2))
    coverage = calendar_coverage()
    assert coverage.covers(2026) and not coverage.covers(2027)
    assert coverage.missing([2026, 2027]) == [2027]
    assert coverage.package_years[-1] == 2026


def test_an_entered_2027_holiday_overrides_the_weekday_rule(loaded):
    assert is_working_day(D(2027, 1, 1))
    statutory_day_save(day=StatutoryDay(day=D(2027, 1, 1), working=False, name="元旦"))
    statutory_day_save(day=StatutoryDay(day=D(2027, 1, 9), working=True, name="春节"))
    assert not is_working_day(D(2027, 1, 1))
    assert is_working_day(D(2027, 1, 9))  # a Saturday
    assert calendar_coverage().covers(2027)
    assert StatutoryDay.objects.get(day=D(2027, 1, 1)).source == StatutoryDaySource.ENTERED


def test_deleting_a_statutory_day_is_seen_at_once(loaded):
    assert not is_working_day(D(2026, 2, 16))
    StatutoryDay.objects.get(day=D(2026, 2, 16)).delete()
    assert is_working_day(D(2026, 2, 16))


def test_a_make_up_working_day_must_be_on_a_weekend():
    with pytest.raises(ValidationError) as caught:
        statutory_day_save(day=StatutoryDay(day=D(2027, 1, 4), working=True, name="x"))
    assert "working" in caught.value.message_dict


def test_a_day_cannot_be_entered_twice(loaded):
    with pytest.raises(ValidationError):
        statutory_day_save(day=StatutoryDay(day=D(2026, 2, 16), working=False))


# --- Loading ---


def test_loading_again_changes_nothing(loaded):
    assert loaded["created"] == StatutoryDay.objects.count() > 0
    history = StatutoryDay.history.count()
    again = statutory_days_load(years=[2025, 2026])
    assert again == {
        "years": [2025, 2026],
        "created": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": loaded["created"],
        "kept_entered": 0,
    }
    assert StatutoryDay.history.count() == history


def test_entered_rows_are_never_overwritten(loaded):
    row = StatutoryDay.objects.get(day=D(2026, 2, 16))
    row.name = "春节（本单位）"
    statutory_day_save(day=row)
    # An administrator decided a package make-up Saturday is not worked after all.
    saturday = StatutoryDay.objects.get(day=D(2026, 2, 28))
    saturday.working = False
    statutory_day_save(day=saturday)
    counts = statutory_days_load(years=[2026])
    assert counts["kept_entered"] == 2 and counts["updated"] == 0
    assert StatutoryDay.objects.get(day=D(2026, 2, 16)).name == "春节（本单位）"
    assert not is_working_day(D(2026, 2, 28))


def test_an_entered_day_the_package_does_not_have_is_kept(loaded):
    statutory_day_save(day=StatutoryDay(day=D(2026, 3, 2), working=False, name="本地假日"))
    counts = statutory_days_load(years=[2026])
    assert counts["removed"] == 0 and counts["kept_entered"] == 1
    assert StatutoryDay.objects.filter(day=D(2026, 3, 2)).exists()


def test_package_rows_follow_a_corrected_package(loaded):
    StatutoryDay.objects.filter(day=D(2026, 2, 16)).update(name="old")
    StatutoryDay.objects.create(day=D(2026, 3, 3), working=False, name="gone", source=StatutoryDaySource.PACKAGE)
    counts = statutory_days_load(years=[2026])
    assert counts["updated"] == 1 and counts["removed"] == 1
    assert StatutoryDay.objects.get(day=D(2026, 2, 16)).name == "春节"
    assert not StatutoryDay.objects.filter(day=D(2026, 3, 3)).exists()
    assert is_working_day(D(2026, 3, 3))


def test_a_year_the_package_does_not_know_is_rejected_whole():
    with pytest.raises(ValidationError) as caught:
        statutory_days_load(years=[2026, 2027])
    assert "2027" in " ".join(caught.value.message_dict["year"])
    assert not StatutoryDay.objects.exists()


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_statutory_days", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_json_and_idempotent():
    first = json.loads(run_command("--year", "2026", "--json")[0])
    assert first["years"] == [2026] and first["created"] > 0
    again = json.loads(run_command("--year", "2026", "--json")[0])
    assert again["created"] == 0 and again["unchanged"] == first["created"]
    out, _ = run_command()
    assert "2004" in out and "2026" in out


@pytest.mark.parametrize(("args", "status"), [(["--year", "2027"], 1), (["--year", "twenty"], 2)])
def test_command_exit_statuses(args, status):
    with pytest.raises(CommandError) as caught:
        run_command(*args)
    assert caught.value.returncode == status
    assert not StatutoryDay.objects.exists()


def test_command_json_reports_a_rejected_year():
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_statutory_days", "--year", "2027", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is False


# --- Counting ---


def test_counting_across_the_spring_festival(loaded):
    friday = D(2026, 2, 13)
    # After Friday: Saturday Feb 14 is worked, Feb 15-23 are off, work resumes on Tuesday Feb 24.
    assert working_days_between(friday, D(2026, 2, 14)) == 1
    assert working_days_between(friday, D(2026, 2, 23)) == 1
    assert working_days_between(friday, D(2026, 2, 24)) == 2
    assert working_days_between(friday, friday) == 0
    assert add_working_days(friday, 1) == D(2026, 2, 14)
    assert add_working_days(friday, 2) == D(2026, 2, 24)
    # A 5-working-day limit from an application accepted on Feb 12: Feb 13, 14, 24, 25 and 26.
    assert add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 26)
    assert add_working_days(D(2026, 2, 24), -1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 15), 0) == D(2026, 2, 15)


def test_counting_backwards_is_the_mirror_image(loaded):
    assert working_days_between(D(2026, 2, 24), D(2026, 2, 13)) == -2
    assert working_days_between(D(2026, 2, 21), D(2026, 2, 13)) == -2  # Friday Feb 13 and Saturday Feb 14


def test_next_working_day(loaded):
    assert next_working_day(D(2025, 9, 30)) == D(2025, 10, 9)
    assert next_working_day(D(2025, 9, 26)) == D(2025, 9, 28)  # the make-up Sunday
    assert next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    assert next_working_day(D(2026, 2, 14), inclusive=True) == D(2026, 2, 14)
    assert next_working_day(D(2026, 2, 15), inclusive=True) == D(2026, 2, 24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=st.dates(min_value=D(2024, 6, 1), max_value=D(2027, 6, 30)),
    n=st.integers(min_value=-400, max_value=400),
)
def test_working_days_between_inverts_add_working_days(loaded, day, n):
    later = add_working_days(day, n)
    assert working_days_between(day, later) == n
    if n:
        assert is_working_day(later)


# --- One query per year at most ---


def test_checking_a_year_of_days_is_one_query(loaded, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        working = sum(is_working_day(d) for d in days(D(2026, 1, 1), D(2026, 12, 31)))
    assert working == sum(chinese_calendar.is_workday(d) for d in days(D(2026, 1, 1), D(2026, 12, 31)))
    with django_assert_max_num_queries(0):
        is_working_day(D(2026, 6, 1))


def test_counting_across_a_new_year_is_one_query(loaded, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert working_days_between(D(2025, 11, 1), D(2026, 2, 28)) > 70
    with django_assert_max_num_queries(1):
        add_working_days(D(2027, 12, 1), 30)


def test_another_process_sees_a_change_once_its_cache_expires(loaded, django_assert_num_queries):
    # An update that sends no signal, as a save in another process is for this one.
    assert is_working_day(D(2026, 2, 28))
    StatutoryDay.objects.filter(day=D(2026, 2, 28)).update(working=False)
    assert is_working_day(D(2026, 2, 28))
    later = workdays.time.monotonic() + workdays.CACHE_SECONDS + 1
    with mock.patch.object(workdays.time, "monotonic", return_value=later), django_assert_num_queries(1):
        assert not is_working_day(D(2026, 2, 28))


# --- Admin ---


def test_admin_lists_a_year_and_warns_about_a_missing_next_year(loaded, admin_client):
    with mock.patch("gridkam.core.admin.timezone.localdate", return_value=D(2026, 11, 20)):
        response = admin_client.get("/admin/core/statutoryday/?year=2026")
    assert response.status_code == 200
    assert {row.day.year for row in response.context["cl"].result_list} == {2026}
    assert response.context["cl"].result_count == StatutoryDay.objects.filter(day__year=2026).count()
    warnings = [str(message) for message in response.context["messages"]]
    assert len(warnings) == 1 and "2027" in warnings[0]


def test_admin_does_not_warn_about_next_year_before_november(loaded, admin_client):
    with mock.patch("gridkam.core.admin.timezone.localdate", return_value=D(2026, 6, 1)):
        response = admin_client.get("/admin/core/statutoryday/")
    assert not list(response.context["messages"])


def test_a_day_saved_in_the_admin_becomes_entered(loaded, admin_client):
    row = StatutoryDay.objects.get(day=D(2026, 2, 16))
    response = admin_client.post(
        f"/admin/core/statutoryday/{row.pk}/change/", {"day": "2026-02-16", "working": "", "name": "春节假期"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.source == StatutoryDaySource.ENTERED and row.name == "春节假期"
