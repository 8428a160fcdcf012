"""SLA clock arithmetic: when a target counted on a clock falls due, and how much of a clock has run.

Two kinds of clock (``ClockKind``): "24x7" counts wall time; "working" counts only the working hours
(settings GRIDKAM["WORKING_HOURS"], local time in TIME_ZONE) of working days (gridkam.core.workdays:
weekdays, statutory holidays and make-up working days). Pauses, (from, to) with ``to`` None for a pause
still open, stop either clock, e.g. while the request waits for the customer.

Datetimes in and out are aware; arithmetic is done in UTC, so a time zone with daylight saving would be
counted right too (Asia/Shanghai has none). Elapsed time is whole minutes, rounded down: a minute counts
once it is complete. No database access here beyond the cached working-day lookups, and none at all when
a ``calendar`` function is passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from django.conf import settings

from .choices import ClockKind

Pause = tuple[dt.datetime, dt.datetime | None]
WorkingHours = Sequence[tuple[str, str]]
Calendar = Callable[[dt.date], bool]

_UTC = dt.UTC
_END_OF_TIME = dt.datetime.max.replace(tzinfo=_UTC)
# Ten years without a working day can only be a broken calendar.
_MAX_DAYS = 3660


def parse_working_hours(hours: WorkingHours) -> list[tuple[dt.time, dt.time]]:
    """("08:30", "12:00") pairs as times, checked: each period ends after it starts, periods in order, apart."""
    periods = []
    for pair in hours:
        try:
            start, end = pair
            period = (dt.time.fromisoformat(start), dt.time.fromisoformat(end))
        except (TypeError, ValueError):
            raise ValueError(f"Working hours {pair!r}: not a pair of HH:MM times.") from None
        if period[0] >= period[1]:
            raise ValueError(f"Working hours {start}-{end}: the period must end after it starts.")
        if periods and period[0] < periods[-1][1]:
            raise ValueError(f"Working hours {start}-{end}: periods must be in order and must not overlap.")
        periods.append(period)
    if not periods:
        raise ValueError("No working hours.")
    return periods


def _check_aware(*moments: dt.datetime | None) -> None:
    for moment in moments:
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError(f"{moment} is a naive datetime; clocks need aware datetimes.")


def _merged_pauses(pauses: Sequence[Pause]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The pauses in UTC, sorted and merged where they overlap or touch; an open pause runs to the end of time."""
    spans = []
    for start, end in pauses:
        _check_aware(start, end)
        end_utc = _END_OF_TIME if end is None else end.astimezone(_UTC)
        start_utc = start.astimezone(_UTC)
        if end_utc > start_utc:
            spans.append((start_utc, end_utc))
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _minus_pauses(
    start: dt.datetime, end: dt.datetime, pauses: list[tuple[dt.datetime, dt.datetime]]
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) outside the pauses, in order."""
    for pause_start, pause_end in pauses:
        if pause_end <= start:
            continue
        if pause_start >= end:
            break
        if pause_start > start:
            yield start, pause_start
        start = max(start, pause_end)
        if start >= end:
            return
    if start < end:
        yield start, end


def _running(
    start: dt.datetime,
    kind: str,
    pauses: Sequence[Pause],
    hours: WorkingHours | None,
    calendar: Calendar | None,
    until: dt.datetime | None = None,
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The spans from ``start`` on during which the clock runs, in UTC and in order, without end (``until`` is
    how far the caller expects to look: the years read ahead from the working-day calendar in one query)."""
    _check_aware(start)
    merged = _merged_pauses(pauses)
    start = start.astimezone(_UTC)
    if kind == ClockKind.AROUND_THE_CLOCK:
        yield from _minus_pauses(start, _END_OF_TIME, merged)
        return
    if kind != ClockKind.WORKING:
        raise ValueError(f"Unknown clock kind {kind!r}.")
    periods = parse_working_hours(settings.GRIDKAM["WORKING_HOURS"] if hours is None else hours)
    # A pause still open stops the clock for good: nothing runs after it starts.
    stopped_from = merged[-1][0] if merged and merged[-1][1] == _END_OF_TIME else _END_OF_TIME
    zone = ZoneInfo(settings.TIME_ZONE)
    day = start.astimezone(zone).date()
    if calendar is None:
        from .workdays import is_working_day as calendar
        from .workdays import preload

        # Most targets fall due within days: this year and the next cover them (and any "until").
        last_year = max(day.year + 1, until.astimezone(zone).year if until else day.year)
        preload(range(day.year, last_year + 1))
    idle_days = 0
    while dt.datetime.combine(day, dt.time(), zone) < stopped_from:
        if calendar(day):
            idle_days = 0
            for period_start, period_end in periods:
                span_start = dt.datetime.combine(day, period_start, zone).astimezone(_UTC)
                span_end = dt.datetime.combine(day, period_end, zone).astimezone(_UTC)
                if span_end > start:
                    yield from _minus_pauses(max(span_start, start), span_end, merged)
        else:
            idle_days += 1
            if idle_days > _MAX_DAYS:
                raise ValueError(f"No working day in the {_MAX_DAYS} days before {day}.")
        day += dt.timedelta(days=1)


def deadline(
    start: dt.datetime,
    minutes: int,
    kind: str,
    pauses: Sequence[Pause] = (),
    *,
    hours: WorkingHours | None = None,
    calendar: Calendar | None = None,
) -> dt.datetime | None:
    """The moment a target of ``minutes`` counted on the clock from ``start`` falls due, in UTC.

    ``start`` itself for a target of 0. None when a pause that is still open stops the clock before the
    target is reached: the due time is unknown until the pause ends. ``hours`` and ``calendar`` replace the
    configured working hours and the working-day calendar (an SLA policy with hours of its own, tests).
    """
    if minutes < 0:
        raise ValueError("A target cannot be negative.")
    _check_aware(start)
    remaining = dt.timedelta(minutes=minutes)
    if not remaining:
        return start.astimezone(_UTC)
    for span_start, span_end in _running(start, kind, pauses, hours, calendar):
        length = span_end - span_start
        if length >= remaining:
            return span_start + remaining
        remaining -= length
    return None


def elapsed(
    start: dt.datetime,
    end: dt.datetime,
    kind: str,
    pauses: Sequence[Pause] = (),
    *,
    hours: WorkingHours | None = None,
    calendar: Calendar | None = None,
) -> int:
    """Whole minutes counted on the clock from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
    _check_aware(start, end)
    end = end.astimezone(_UTC)
    if end <= start:
        return 0
    counted = dt.timedelta()
    for span_start, span_end in _running(start, kind, pauses, hours, calendar, until=end):
        if span_start >= end:
            break
        counted += min(span_end, end) - span_start
        if span_end >= end:
            break
    return int(counted.total_seconds()) // 60
