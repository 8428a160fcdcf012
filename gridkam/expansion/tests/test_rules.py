"""Working-day counting of the utility's own time: across the 2026 Spring Festival with its make-up working days,
clock stops left out, and the due date that follows; the stage sequences of each kind."""

from __future__ import annotations

import pytest

from gridkam.core import workdays
from gridkam.expansion import rules
from gridkam.expansion.choices import ProjectKind, Stage

from .support import D, spring_festival_2026

END_OF_YEAR = D(2026, 12, 31)


def weekdays(day) -> bool:
    return day.weekday() < 5


def count(start, end, stops=(), *, is_working=weekdays, today=END_OF_YEAR):
    return rules.utility_working_days(start, end, stops, today=today, is_working=is_working)


def test_the_day_of_acceptance_does_not_count():
    # Monday to Friday of one week: Tuesday to Friday count.
    assert count(D(2026, 3, 2), D(2026, 3, 6)) == 4
    assert count(D(2026, 3, 2), D(2026, 3, 2)) == 0


def test_a_clock_stop_removes_the_customers_days():
    # Mar 2 (Mon) to Mar 13 (Fri): 9 working days; stopped Mar 4–Mar 6 removes Thu and Fri.
    assert count(D(2026, 3, 2), D(2026, 3, 13)) == 9
    assert count(D(2026, 3, 2), D(2026, 3, 13), [(D(2026, 3, 4), D(2026, 3, 6))]) == 7
    # A stop started and ended the same day costs nothing.
    assert count(D(2026, 3, 2), D(2026, 3, 13), [(D(2026, 3, 4), D(2026, 3, 4))]) == 9


def test_an_open_clock_stop_runs_to_today():
    assert count(D(2026, 3, 2), D(2026, 3, 13), [(D(2026, 3, 6), None)], today=D(2026, 3, 10)) == 4 + 3


def test_the_due_date_moves_by_the_clock_stop():
    due = rules.utility_due_date(D(2026, 3, 2), 5, today=D(2026, 12, 31), is_working=weekdays)
    assert due == D(2026, 3, 9)
    later = rules.utility_due_date(
        D(2026, 3, 2), 5, [(D(2026, 3, 3), D(2026, 3, 5))], today=D(2026, 12, 31), is_working=weekdays
    )
    assert later == D(2026, 3, 11)


@pytest.mark.django_db
def test_spring_festival_and_make_up_days_count_as_published():
    spring_festival_2026()
    workdays.cache_clear()
    working = workdays.is_working_day
    # Accepted Friday Feb 13: Sat Feb 14 is a make-up working day (1); Feb 15–23 off; Feb 24–27 (2–5).
    assert count(D(2026, 2, 13), D(2026, 2, 27), is_working=working) == 5
    # The weekday rule alone would have counted the holiday week.
    assert count(D(2026, 2, 13), D(2026, 2, 27)) == 10
    assert rules.utility_due_date(D(2026, 2, 13), 5, today=D(2026, 12, 31), is_working=working) == D(2026, 2, 27)
    # Sat Feb 28 is worked: the 6th day.
    assert rules.utility_due_date(D(2026, 2, 13), 6, today=D(2026, 12, 31), is_working=working) == D(2026, 2, 28)
    # A clock stop over the make-up Saturday takes it out too.
    assert count(D(2026, 2, 13), D(2026, 2, 28), [(D(2026, 2, 13), D(2026, 2, 14))], is_working=working) == 5


def test_stage_sequences():
    assert rules.stages_of(ProjectKind.NEW_CONNECTION) == tuple(Stage.values)
    assert rules.stages_of(ProjectKind.NAME_CHANGE) == (Stage.APPLICATION, Stage.ENERGISATION)
    assert rules.next_stage(ProjectKind.SUSPENSION, Stage.SITE_SURVEY) == Stage.ENERGISATION
    assert rules.next_stage(ProjectKind.CAPACITY_INCREASE, Stage.ENERGISATION) is None
    for kind in ProjectKind.values:
        assert rules.stages_of(kind)[0] == Stage.APPLICATION and rules.stages_of(kind)[-1] == Stage.ENERGISATION


def test_levels():
    assert rules.days_left_level(-1, warn_days=3) == "breach"
    assert rules.days_left_level(0, warn_days=3) == "warning"
    assert rules.days_left_level(3, warn_days=3) == "warning"
    assert rules.days_left_level(4, warn_days=3) is None
    assert rules.days_left_level(None, warn_days=3) is None
