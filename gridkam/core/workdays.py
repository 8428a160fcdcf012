"""The working-day calendar that time limits (business expansion) and SLA clocks count in.

A day is a working day by the weekday rule (Monday to Friday) unless a ``StatutoryDay`` row says
otherwise: public holidays and make-up working days (调休) as the State Council publishes them each
year. The rows come from the chinese-calendar package (``statutory_days_load``) or are entered by
administrators for a year the installed package does not know yet (docs/DECISIONS.md). A year without
any row is answered by the weekday rule alone; ``calendar_coverage`` tells which years have rows so that
pages can warn.

Counting convention (民法典 art. 201: the day a period starts is not counted, counting begins the next
day): ``working_days_between(start, end)`` counts the working days *after* ``start`` up to and
including ``end``, and ``add_working_days(day, n)`` is the n-th working day after ``day``, so that
``working_days_between(day, add_working_days(day, n)) == n``. A time limit of 5 working days from an
application accepted on ``day`` falls due at the end of ``add_working_days(day, 5)``.

Lookups read a whole year's rows at once into a cache of this process, so that checking every day of a
year is one query. Saving or deleting a ``StatutoryDay`` clears this process's cache at once (signals,
see apps.py); other processes (web workers, Celery workers) read their copy again after
``CACHE_SECONDS``, which is soon enough for a schedule published weeks ahead.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar.constants import Holiday

CACHE_SECONDS = 300
# Years are loaded ahead when adding working days: a year has at least 240 of them.
_MIN_WORKING_DAYS_PER_YEAR = 240
_ONE_DAY = dt.timedelta(days=1)

# year -> (monotonic time loaded, {day: working}) for the years read so far.
_cache: dict[int, tuple[float, dict[dt.date, bool]]] = {}


def cache_clear() -> None:
    """Forget the years read so far (after ``StatutoryDay`` rows change)."""
    _cache.clear()


def preload(years: Iterable[int]) -> None:
    """Read the statutory days of the given years that are not cached (or are stale), in one query: for a
    caller about to look at many days of several years (is_working_day reads one year at a time)."""
    from .models import StatutoryDay

    now = time.monotonic()
    missing = sorted(year for year in set(years) if year not in _cache or now - _cache[year][0] > CACHE_SECONDS)
    if not missing:
        return
    first, last = missing[0], missing[-1]
    found: dict[int, dict[dt.date, bool]] = {year: {} for year in range(first, last + 1)}
    rows = StatutoryDay.objects.filter(day__gte=dt.date(first, 1, 1), day__lte=dt.date(last, 12, 31))
    for day, working in rows.values_list("day", "working"):
        found[day.year][day] = working
    for year, days in found.items():
        _cache[year] = (now, days)


def _year(year: int) -> dict[dt.date, bool]:
    entry = _cache.get(year)
    if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
        preload([year])
        entry = _cache[year]
    return entry[1]


def is_working_day(day: dt.date) -> bool:
    """True when ``day`` is a working day: its statutory row if it has one, else Monday to Friday."""
    working = _year(day.year).get(day)
    if working is None:
        return day.weekday() < 5
    return working


def working_days_between(start: dt.date, end: dt.date) -> int:
    """The working days after ``start`` up to and including ``end``; 0 when they are the same day.

    When ``end`` is before ``start`` the count is negative: minus the working days from ``end`` up to but
    excluding ``start`` (the mirror image, so that ``add_working_days`` with a negative n is inverted too).
    """
    if end < start:
        return -working_days_between(end - _ONE_DAY, start - _ONE_DAY)
    preload(range(start.year, end.year + 1))
    count = 0
    day = start + _ONE_DAY
    while day <= end:
        count += is_working_day(day)
        day += _ONE_DAY
    return count


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``day`` (before it when n is negative); ``day`` itself when n is 0."""
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    years_ahead = abs(n) // _MIN_WORKING_DAYS_PER_YEAR + 1
    preload(range(day.year - years_ahead, day.year + 1) if n < 0 else range(day.year, day.year + years_ahead + 1))
    remaining = abs(n)
    while remaining:
        day += step
        remaining -= is_working_day(day)
    return day


def next_working_day(day: dt.date, *, inclusive: bool = False) -> dt.date:
    """The first working day after ``day`` (or ``day`` itself when ``inclusive`` and it is a working day)."""
    if inclusive and is_working_day(day):
        return day
    return add_working_days(day, 1)


@dataclass(frozen=True)
class CalendarCoverage:
    """Which years have statutory days in the database, and which the installed package knows."""

    years: tuple[int, ...]
    package_years: tuple[int, ...]

    def covers(self, year: int) -> bool:
        return year in self.years

    def missing(self, years: Iterable[int]) -> list[int]:
        """Of ``years``, those without statutory days: answered by the weekday rule alone."""
        return sorted(year for year in set(years) if year not in self.years)


def calendar_coverage() -> CalendarCoverage:
    """The years with at least one statutory day (one query), beside the years the package could load."""
    from .models import StatutoryDay

    years = tuple(sorted(d.year for d in StatutoryDay.objects.dates("day", "year")))
    return CalendarCoverage(years=years, package_years=package_years())


# --- What the chinese-calendar package knows ---


@dataclass(frozen=True)
class PackageDay:
    day: dt.date
    working: bool
    name: str


def package_years() -> tuple[int, ...]:
    """The years whose schedule the installed chinese-calendar package carries."""
    return tuple(sorted({day.year for day in chinese_calendar.holidays}))


def package_days(years: Iterable[int]) -> list[PackageDay]:
    """The package's departures from the weekday rule in ``years``: holidays that fall on a weekday and make-up
    working days on a weekend, named in Chinese (春节). Holidays on a weekend change nothing and are left out."""
    wanted = set(years)
    days = [
        PackageDay(day=day, working=False, name=_chinese(name))
        for day, name in chinese_calendar.holidays.items()
        if day.year in wanted and day.weekday() < 5
    ]
    days += [
        PackageDay(day=day, working=True, name=_chinese(name))
        for day, name in chinese_calendar.workdays.items()
        if day.year in wanted and day.weekday() >= 5
    ]
    return sorted(days, key=lambda d: d.day)


def _chinese(english: str) -> str:
    try:
        return Holiday(english).chinese
    except ValueError:  # a holiday a later package adds before its enum names it in Chinese
        return english


def package_version() -> str:
    return getattr(chinese_calendar, "__version__", "")
