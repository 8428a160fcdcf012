"""Plain rules of business expansion, without the ORM: the stage sequence of each kind of project, and the
working-day count of the utility's own time (clock stops excluded) with its due date.

Counting follows ``gridkam.core.workdays``: a period starting on ``start`` counts the working days *after*
``start`` up to and including ``end``. A clock stop from ``stop_start`` to ``stop_end`` is customer time for the
working days after ``stop_start`` up to and including ``stop_end`` (the same convention), so a stop started and
ended on the same day costs the utility nothing and removes nothing. An open stop (no end) runs to ``today``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from .choices import ProjectKind, Stage, VoltageClass

K = ProjectKind
S = Stage

# Which stages each kind goes through. Kinds that build nothing skip the design and construction stages; their
# last stage (装表接电) is the on-site work that makes the change real: sealing or unsealing the meter for a
# suspension, reduction or resumption, changing the meter settings for a tariff change, and the new contract for a
# name change (no site visit). The master data changes when the last stage ends (``project_complete``).
FULL = (
    S.APPLICATION,
    S.SITE_SURVEY,
    S.PLAN_REPLY,
    S.DESIGN_REVIEW,
    S.MID_INSPECTION,
    S.COMPLETION_INSPECTION,
    S.ENERGISATION,
)
STAGES: dict[str, tuple[str, ...]] = {
    K.NEW_CONNECTION: FULL,
    K.CAPACITY_INCREASE: FULL,
    K.CAPACITY_REDUCTION: (S.APPLICATION, S.SITE_SURVEY, S.ENERGISATION),
    K.SUSPENSION: (S.APPLICATION, S.SITE_SURVEY, S.ENERGISATION),
    K.RESUMPTION: (S.APPLICATION, S.SITE_SURVEY, S.ENERGISATION),
    K.TARIFF_CHANGE: (S.APPLICATION, S.SITE_SURVEY, S.ENERGISATION),
    K.NAME_CHANGE: (S.APPLICATION, S.ENERGISATION),
}

ONE_DAY = dt.timedelta(days=1)
Stop = tuple[dt.date, dt.date | None]


LOW_VOLTAGE_BELOW_KV = Decimal("10")


def voltage_class_of(voltage_kv: str) -> str:
    """The time limits' voltage class of a voltage level: low below 10 kV (0.4 kV), else high."""
    try:
        low = Decimal(str(voltage_kv)) < LOW_VOLTAGE_BELOW_KV
    except InvalidOperation:
        low = False
    return VoltageClass.LOW if low else VoltageClass.HIGH


def stages_of(kind: str) -> tuple[str, ...]:
    return STAGES[kind]


def next_stage(kind: str, stage: str) -> str | None:
    """The stage after ``stage`` for this kind, or None after the last."""
    sequence = STAGES[kind]
    position = sequence.index(stage)
    return sequence[position + 1] if position + 1 < len(sequence) else None


def _stopped_days(stops: Sequence[Stop], *, today: dt.date) -> set[dt.date]:
    days: set[dt.date] = set()
    for start, end in stops:
        day = start + ONE_DAY
        last = end or today
        while day <= last:
            days.add(day)
            day += ONE_DAY
    return days


def utility_working_days(
    start: dt.date,
    end: dt.date,
    stops: Sequence[Stop] = (),
    *,
    today: dt.date,
    is_working: Callable[[dt.date], bool],
) -> int:
    """The utility's working days after ``start`` up to and including ``end``, clock-stop days left out."""
    stopped = _stopped_days(stops, today=today)
    count = 0
    day = start + ONE_DAY
    while day <= end:
        if day not in stopped and is_working(day):
            count += 1
        day += ONE_DAY
    return count


def utility_due_date(
    start: dt.date,
    limit: int,
    stops: Sequence[Stop] = (),
    *,
    today: dt.date,
    is_working: Callable[[dt.date], bool],
) -> dt.date:
    """The day the ``limit``-th working day of the utility's own time falls on (``start`` for a limit of 0).
    Clock stops known so far are skipped; an open stop is taken to end ``today``, so that the due date moves on
    day by day while the customer holds the clock."""
    stopped = _stopped_days(stops, today=today)
    day, counted = start, 0
    while counted < limit:
        day += ONE_DAY
        if day not in stopped and is_working(day):
            counted += 1
    return day


def days_left_level(days_left: int | None, *, warn_days: int) -> str | None:
    """``"breach"`` once the limit is passed (fewer than 0 days left), ``"warning"`` within ``warn_days`` of it."""
    if days_left is None:
        return None
    if days_left < 0:
        return "breach"
    if days_left <= warn_days:
        return "warning"
    return None
