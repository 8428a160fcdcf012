"""Time-of-use calendars (分时电价时段): which period every hour of every day belongs to.

A tariff version holds its calendar as JSON (the same shape as the shipped sample files)::

    {"profiles": [{"key": "standard", "name": "非夏季", "months": [1, 2, ...],
                   "ranges": [{"from": 0, "to": 8, "period": "valley"}, ...]}, ...],
     "exceptions": [{"from": "2025-10-01", "to": "2025-10-07", "profile": "holiday", "name": "国庆节"}]}

A *profile* is one day's pattern of periods; every month of the year uses exactly one profile, and
date *exceptions* (holidays with a deep valley, for instance) swap in another profile for whole days.
Hours are local wall-clock hours in Asia/Shanghai (no daylight saving), "from" inclusive, "to" exclusive.

Pure code: no ORM. Interval data is classified in bulk by ``TouCalendar.period_codes`` with numpy only.
"""

from __future__ import annotations

import calendar as std_calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
from django.utils.translation import gettext as _

PERIODS: tuple[str, ...] = ("sharp", "peak", "flat", "valley", "deep_valley")
PERIOD_INDEX: dict[str, int] = {key: index for index, key in enumerate(PERIODS)}
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
HOURS_PER_DAY = 24
MONTHS = range(1, 13)
# period_codes answers this for NaT inputs: an interval without a time has no period.
NO_PERIOD = -1

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CALENDAR_KEYS = {"profiles", "exceptions"}
_PROFILE_KEYS = {"key", "name", "months", "ranges"}
_RANGE_KEYS = {"from", "to", "period"}
_EXCEPTION_KEYS = {"from", "to", "profile", "name"}


class CalendarError(ValueError):
    """A calendar that cannot be used; ``errors`` lists every problem found, in a stable order."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class DayProfile:
    """One day's pattern: ``hours[h]`` is the period key of the hour starting at h:00."""

    key: str
    name: str
    months: tuple[int, ...]
    hours: tuple[str, ...]


@dataclass(frozen=True)
class DateException:
    """Whole days from ``start`` to ``end`` (both inclusive) that use ``profile`` instead of their month's."""

    start: date
    end: date
    profile: str
    name: str


@dataclass(frozen=True)
class TouCalendar:
    """A validated calendar; build it with ``parse_calendar``."""

    profiles: tuple[DayProfile, ...]
    exceptions: tuple[DateException, ...] = ()

    # -- lookups ---------------------------------------------------------------------------------

    @cached_property
    def _profiles_by_key(self) -> dict[str, DayProfile]:
        return {profile.key: profile for profile in self.profiles}

    @cached_property
    def _profile_by_month(self) -> dict[int, DayProfile]:
        return {month: profile for profile in self.profiles for month in profile.months}

    def profile_for(self, day: date) -> DayProfile:
        """The profile in force on ``day``: an exception covering it, else its month's profile."""
        if isinstance(day, datetime):
            day = day.date()
        for exception in self.exceptions:
            if exception.start <= day <= exception.end:
                return self._profiles_by_key[exception.profile]
        return self._profile_by_month[day.month]

    def period_at(self, start: datetime) -> str:
        """The period of the interval starting at ``start``; naive datetimes are Asia/Shanghai wall time."""
        if start.tzinfo is not None:
            start = start.astimezone(LOCAL_TZ)
        return self.profile_for(start.date()).hours[start.hour]

    # -- summaries for the UI --------------------------------------------------------------------

    def month_hour_grid(self) -> list[list[str]]:
        """12 × 24 period keys for ordinary days (exceptions left out): row 0 is January, column 0 is 00–01."""
        return [list(self._profile_by_month[month].hours) for month in MONTHS]

    def periods_used(self) -> tuple[str, ...]:
        """Every period any profile uses (exception-only profiles included), in ``PERIODS`` order."""
        used = {period for profile in self.profiles for period in profile.hours}
        return tuple(period for period in PERIODS if period in used)

    def hours_by_period(self, year: int, month: int) -> dict[str, int]:
        """Hours of each period in that calendar month, exceptions applied; every key of ``PERIODS`` is present."""
        totals = dict.fromkeys(PERIODS, 0)
        days_in_month = std_calendar.monthrange(year, month)[1]
        for day in range(1, days_in_month + 1):
            for period in self.profile_for(date(year, month, day)).hours:
                totals[period] += 1
        return totals

    def to_json(self) -> dict:
        """The JSON form ``parse_calendar`` reads; runs of equal hours become one range."""
        return {
            "profiles": [
                {
                    "key": profile.key,
                    "name": profile.name,
                    "months": list(profile.months),
                    "ranges": _hours_to_ranges(profile.hours),
                }
                for profile in self.profiles
            ],
            "exceptions": [
                {
                    "from": exception.start.isoformat(),
                    "to": exception.end.isoformat(),
                    "profile": exception.profile,
                    "name": exception.name,
                }
                for exception in self.exceptions
            ],
        }

    # -- bulk classification of interval data ----------------------------------------------------

    @cached_property
    def _hour_table(self) -> np.ndarray:
        """[profile index, hour] → period index."""
        return np.array([[PERIOD_INDEX[p] for p in profile.hours] for profile in self.profiles], dtype=np.int8)

    @cached_property
    def _month_table(self) -> np.ndarray:
        """[month 1–12] → profile index (slot 0 unused)."""
        index = {profile.key: i for i, profile in enumerate(self.profiles)}
        table = np.zeros(13, dtype=np.intp)
        for month, profile in self._profile_by_month.items():
            table[month] = index[profile.key]
        return table

    def period_codes(self, starts: np.ndarray) -> np.ndarray:
        """Index into ``PERIODS`` for each interval START (numpy datetime64 local wall time, any unit).

        Exceptions are applied through a table indexed by day number, so the cost is linear in the
        number of intervals plus the days spanned; NaT gives ``NO_PERIOD`` (-1).
        """
        starts = np.asarray(starts)
        if not np.issubdtype(starts.dtype, np.datetime64):
            raise TypeError(f"period_codes needs datetime64 values, got {starts.dtype}")
        codes = np.full(starts.shape, NO_PERIOD, dtype=np.int8)
        valid = ~np.isnat(starts)
        if not valid.any():
            return codes
        moments = starts[valid].astype("datetime64[m]")
        days = moments.astype("datetime64[D]")
        hours = ((moments - days) // np.timedelta64(1, "h")).astype(np.intp)
        months = moments.astype("datetime64[M]").astype(np.int64) % 12 + 1
        profile_idx = self._month_table[months]
        if self.exceptions:
            day_numbers = days.astype(np.int64)
            first, last = int(day_numbers.min()), int(day_numbers.max())
            override = np.full(last - first + 1, -1, dtype=np.intp)
            index = {profile.key: i for i, profile in enumerate(self.profiles)}
            epoch = date(1970, 1, 1)
            for exception in self.exceptions:
                lo = max((exception.start - epoch).days, first)
                hi = min((exception.end - epoch).days, last)
                if lo <= hi:
                    override[lo - first : hi - first + 1] = index[exception.profile]
            swapped = override[day_numbers - first]
            profile_idx = np.where(swapped >= 0, swapped, profile_idx)
        codes[valid] = self._hour_table[profile_idx, hours]
        return codes


def interval_starts_from_ends(ends: np.ndarray, *, minutes: int = 15) -> np.ndarray:
    """Interval START times from interval-END timestamps (the acquisition-system convention).

    The 00:15 reading covers 00:00–00:15; the 24:00 reading arrives dated 00:00 of the next day and
    covers 23:45–24:00 of the day before, which is why the period of a reading is that of its start.
    """
    ends = np.asarray(ends)
    if not np.issubdtype(ends.dtype, np.datetime64):
        raise TypeError(f"interval_starts_from_ends needs datetime64 values, got {ends.dtype}")
    return ends - np.timedelta64(minutes, "m")


# -- parsing -------------------------------------------------------------------------------------


def parse_calendar(data: Mapping) -> TouCalendar:
    """Validate calendar JSON and build a ``TouCalendar``; raise ``CalendarError`` listing every problem."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise CalendarError([_("A calendar must be an object with “profiles” and “exceptions”.")])
    _unknown_keys(data, _CALENDAR_KEYS, _("Calendar"), errors)

    raw_profiles = data.get("profiles")
    profiles: list[DayProfile] = []
    if not isinstance(raw_profiles, list) or not raw_profiles:
        errors.append(_("“profiles” must be a non-empty list."))
    else:
        seen_keys: set[str] = set()
        for number, raw in enumerate(raw_profiles, start=1):
            profile = _parse_profile(number, raw, errors)
            if profile is None:
                continue
            if profile.key in seen_keys:
                errors.append(_("Profile key “%(key)s” is used more than once.") % {"key": profile.key})
                continue
            seen_keys.add(profile.key)
            profiles.append(profile)
        _check_months(profiles, errors)

    raw_exceptions = data.get("exceptions", [])
    exceptions: list[DateException] = []
    if not isinstance(raw_exceptions, list):
        errors.append(_("“exceptions” must be a list."))
    else:
        known = {profile.key for profile in profiles}
        numbered = []
        for number, raw in enumerate(raw_exceptions, start=1):
            exception = _parse_exception(number, raw, known, errors)
            if exception is not None:
                numbered.append((number, exception))
                exceptions.append(exception)
        _check_overlaps(numbered, errors)

    if errors:
        raise CalendarError(errors)
    return TouCalendar(profiles=tuple(profiles), exceptions=tuple(exceptions))


def _parse_profile(number: int, raw, errors: list[str]) -> DayProfile | None:
    """Read one profile, reporting its problems; it is returned even when its hours are faulty so that
    month and exception checks do not repeat the same fault as "month has no profile" and the like."""
    if not isinstance(raw, Mapping):
        errors.append(_("Profile %(number)d must be an object.") % {"number": number})
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not key.strip():
        errors.append(_("Profile %(number)d: “key” must be a non-empty string.") % {"number": number})
        return None
    label = _("Profile “%(key)s”") % {"key": key}
    _unknown_keys(raw, _PROFILE_KEYS, label, errors)

    name = raw.get("name", "")
    if not isinstance(name, str):
        errors.append(_("%(label)s: “name” must be a string.") % {"label": label})

    months_raw = raw.get("months")
    months: list[int] = []
    if not isinstance(months_raw, list):
        errors.append(_("%(label)s: “months” must be a list of month numbers 1–12.") % {"label": label})
    else:
        for month in months_raw:
            if not _is_int(month) or not 1 <= month <= 12:
                errors.append(_("%(label)s: %(value)r is not a month number 1–12.") % {"label": label, "value": month})
            elif month in months:
                errors.append(_("%(label)s: month %(month)d is listed twice.") % {"label": label, "month": month})
            else:
                months.append(month)

    cover: list[list[str]] = [[] for _hour in range(HOURS_PER_DAY)]
    ranges_raw = raw.get("ranges")
    readable = isinstance(ranges_raw, list) and bool(ranges_raw)
    if not readable:
        errors.append(_("%(label)s: “ranges” must be a non-empty list.") % {"label": label})
    else:
        for index, rng in enumerate(ranges_raw, start=1):
            parsed = _parse_range(label, index, rng, errors)
            if parsed is None:
                readable = False
                continue
            start, end, period = parsed
            for hour in range(start, end):
                cover[hour].append(period)
    if readable:
        # Coverage is only meaningful once every range was readable; otherwise the gaps are noise.
        _check_coverage(label, [len(periods) for periods in cover], errors)

    hours = tuple(periods[0] if periods else "" for periods in cover)
    return DayProfile(key=key, name=name if isinstance(name, str) else "", months=tuple(sorted(months)), hours=hours)


def _check_coverage(label: str, counts: list[int], errors: list[str]) -> None:
    for first, last, count in _runs(counts):
        values = {"label": label, "start": first, "end": last, "count": count}
        if count == 0:
            errors.append(_("%(label)s: hours %(start)d–%(end)d are not covered.") % values)
        elif count == 2:
            errors.append(_("%(label)s: hours %(start)d–%(end)d are covered twice.") % values)
        else:
            errors.append(_("%(label)s: hours %(start)d–%(end)d are covered %(count)d times.") % values)


def _parse_range(label: str, index: int, rng, errors: list[str]) -> tuple[int, int, str] | None:
    where = _("%(label)s, range %(index)d") % {"label": label, "index": index}
    if not isinstance(rng, Mapping):
        errors.append(_("%(where)s must be an object with “from”, “to” and “period”.") % {"where": where})
        return None
    _unknown_keys(rng, _RANGE_KEYS, where, errors)
    start, end, period = rng.get("from"), rng.get("to"), rng.get("period")
    ok = True
    if not _is_int(start) or not 0 <= start <= 23:
        errors.append(
            _("%(where)s: “from” must be a whole hour from 0 to 23, not %(value)r.") % {"where": where, "value": start}
        )
        ok = False
    if not _is_int(end) or not 1 <= end <= 24:
        errors.append(
            _("%(where)s: “to” must be a whole hour from 1 to 24, not %(value)r.") % {"where": where, "value": end}
        )
        ok = False
    if ok and start >= end:
        errors.append(
            _("%(where)s: “from” (%(start)d) must be before “to” (%(end)d).")
            % {"where": where, "start": start, "end": end}
        )
        ok = False
    if period not in PERIOD_INDEX:
        errors.append(
            _("%(where)s: unknown period %(value)r; use one of %(periods)s.")
            % {"where": where, "value": period, "periods": ", ".join(PERIODS)}
        )
        ok = False
    return (start, end, period) if ok else None


def _check_months(profiles: list[DayProfile], errors: list[str]) -> None:
    owners: dict[int, list[str]] = {month: [] for month in MONTHS}
    for profile in profiles:
        for month in profile.months:
            owners[month].append(profile.key)
    for month, keys in owners.items():
        if not keys:
            errors.append(_("Month %(month)d has no profile.") % {"month": month})
        elif len(keys) > 1:
            errors.append(
                _("Month %(month)d belongs to more than one profile: %(profiles)s.")
                % {"month": month, "profiles": ", ".join(f"“{key}”" for key in keys)}
            )


def _parse_exception(number: int, raw, known: set[str], errors: list[str]) -> DateException | None:
    if not isinstance(raw, Mapping):
        errors.append(_("Exception %(number)d must be an object.") % {"number": number})
        return None
    name = raw.get("name", "")
    if not isinstance(name, str):
        errors.append(_("Exception %(number)d: “name” must be a string.") % {"number": number})
        name = ""
    label = _exception_label(number, name)
    _unknown_keys(raw, _EXCEPTION_KEYS, label, errors)
    start = _parse_date(label, "from", raw.get("from"), errors)
    end = _parse_date(label, "to", raw.get("to"), errors)
    ok = start is not None and end is not None
    if ok and start > end:
        errors.append(
            _("%(label)s: “from” %(start)s is after “to” %(end)s.")
            % {"label": label, "start": start.isoformat(), "end": end.isoformat()}
        )
        ok = False
    profile = raw.get("profile")
    if not isinstance(profile, str) or profile not in known:
        errors.append(_("%(label)s names unknown profile “%(profile)s”.") % {"label": label, "profile": profile})
        ok = False
    if not ok:
        return None
    return DateException(start=start, end=end, profile=profile, name=name)


def _parse_date(label: str, field: str, value, errors: list[str]) -> date | None:
    parsed = None
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        errors.append(
            _("%(label)s: “%(field)s” must be a date written YYYY-MM-DD, not %(value)r.")
            % {"label": label, "field": field, "value": value}
        )
    return parsed


def _check_overlaps(numbered: list[tuple[int, DateException]], errors: list[str]) -> None:
    ordered = sorted(numbered, key=lambda item: (item[1].start, item[0]))
    for i, (number_a, a) in enumerate(ordered):
        for number_b, b in ordered[i + 1 :]:
            if b.start > a.end:
                break
            first, second = sorted([(number_a, a), (number_b, b)], key=lambda item: item[0])
            errors.append(
                _("%(first)s and %(second)s overlap.")
                % {
                    "first": _exception_label(first[0], first[1].name),
                    "second": _exception_label(second[0], second[1].name),
                }
            )


def _exception_label(number: int, name: str) -> str:
    if name:
        return _("Exception %(number)d (%(name)s)") % {"number": number, "name": name}
    return _("Exception %(number)d") % {"number": number}


def _unknown_keys(obj: Mapping, allowed: set[str], label: str, errors: list[str]) -> None:
    extra = sorted(str(key) for key in obj if key not in allowed)
    if extra:
        errors.append(
            _("%(label)s: unknown field(s) %(fields)s.")
            % {"label": label, "fields": ", ".join(f"“{k}”" for k in extra)}
        )


def _is_int(value) -> bool:
    # JSON true/false arrive as bool, which Python counts as int; an hour of True is a data error.
    return isinstance(value, int) and not isinstance(value, bool)


def _runs(values) -> list[tuple[int, int, int]]:
    """Maximal runs of equal values as (first index, end index exclusive, value), skipping value 1."""
    runs: list[tuple[int, int, int]] = []
    values = list(values)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            if values[start] != 1:
                runs.append((start, i, values[start]))
            start = i
    return runs


def _hours_to_ranges(hours: tuple[str, ...]) -> list[dict]:
    ranges = []
    start = 0
    for hour in range(1, HOURS_PER_DAY + 1):
        if hour == HOURS_PER_DAY or hours[hour] != hours[start]:
            ranges.append({"from": start, "to": hour, "period": hours[start]})
            start = hour
    return ranges
