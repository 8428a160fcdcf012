"""Readings files (DOMAIN.md "Interval data") turned into chunks of checked 15-minute readings.

Pure code: polars and numpy, no ORM. ``iter_readings`` streams a file as ``Chunk``s; the loader resolves
metering points, finds duplicates and writes. Two shapes:

- ``long``: header ``metering_point,interval_end,kwh[,kvarh_lag][,kvarh_lead][,estimated]`` in any order.
  ``interval_end`` is ISO 8601 with an offset (``2025-07-01T10:15:00+08:00``, ``…Z``) or a local
  Asia/Shanghai time without one (``2025-07-01 10:15``, ``2025-07-01T10:15:00``, ``2025/07/01 10:15``);
  ``24:00`` is 00:00 of the next day; seconds, if given, must be 0. ``estimated`` is 0/1/Y/N, blank
  meaning not estimated.
- ``wide96``: header ``metering_point,date,p1..p96[,q1..q96]`` (q = lagging kvarh): one reading per
  non-blank P cell, ending at the local date's 00:00 + k × 15 min (P1 = 00:15, P96 = 24:00). A blank P is
  a gap, not an error; a Q without its P is an error.

How the file is read, and why:

- CSV is never held whole: it is read in blocks of bytes, cut at row ends found with numpy (a newline
  outside double quotes, so quoted fields may hold commas and newlines), and every ``chunk_rows`` data
  rows are parsed by polars at once. Peak memory follows ``chunk_rows``, not the file size. A
  ``FileFormatError`` found late in a file (a wrong byte sequence, an unclosed quote) is raised after
  the chunks before it have been yielded: a caller that writes must do so in one transaction.
- Times are parsed with the strptime format most of a chunk's first times follow, and only the rows it
  does not fit (24:00, other spellings, errors) through a slower pattern. The quarter-hour check is made
  on the UTC time: a multiple of 15 minutes since the epoch.
- XLSX (first sheet only) files are small by nature (a sheet holds at most 1,048,576 rows), so their rows are read with
  openpyxl's read-only mode and converted cell by cell in Python; the checks are the same polars code.
  Numbers are read as their shortest decimal text; date-time cells are rounded to the second, since
  Excel stores them as binary fractions of a day (10:15 may come back as 10:14:59.999999).
- Encodings: UTF-8 (with or without BOM) or GB18030, decided by the first rows that are not plain
  ASCII (UTF-8 if they decode as UTF-8). Other files are refused as a whole.
- Header names are compared trimmed and case-insensitively, ``P01`` is ``p1``; header cells left blank
  at the end of the header (spreadsheet artefacts) are ignored with their values.
- Values become integer thousandths (kWh, kvarh) exactly from the text, rounding half-up beyond the
  third decimal; no float is involved. ``1e3``, ``1,5`` and ``abc`` are not numbers; ``-0`` is zero.
- Row numbers are the file's own: the 1-based line where a CSV row starts (blank lines count), the
  sheet's row number for XLSX. A row with any error is rejected as a whole with all its errors (for
  wide96 the day's 96 readings together); a row with the wrong number of fields only with that error,
  since its values are shifted.
- ``chunk_rows`` bounds the readings per chunk: for wide96 a chunk holds ``chunk_rows // 96`` rows of
  the file (at least one).
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import BinaryIO, Literal

import numpy as np
import openpyxl
import polars as pl
from django.utils.translation import gettext
from openpyxl.utils.exceptions import InvalidFileException

__all__ = [
    "FORMATS",
    "FRAME_SCHEMA",
    "LOCAL_TIME_ZONE",
    "P_COLUMNS",
    "Q_COLUMNS",
    "Chunk",
    "FileFormatError",
    "Rejection",
    "iter_readings",
    "thousandths",
]

LOCAL_TIME_ZONE = "Asia/Shanghai"
FORMATS = ("long", "wide96")
FRAME_SCHEMA = {
    "line": pl.Int64,
    "point": pl.String,
    "interval_end": pl.Datetime("us", "UTC"),
    "kwh_milli": pl.Int64,
    "lag_milli": pl.Int64,
    "lead_milli": pl.Int64,
    "estimated": pl.Boolean,
}

P_COLUMNS = tuple(f"p{k}" for k in range(1, 97))
Q_COLUMNS = tuple(f"q{k}" for k in range(1, 97))
LONG_REQUIRED = ("metering_point", "interval_end", "kwh")
LONG_OPTIONAL = ("kvarh_lag", "kvarh_lead", "estimated")
WIDE_REQUIRED = ("metering_point", "date", *P_COLUMNS)

# Reading.kwh holds 14 digits with 3 decimals: at most 11 before the point.
_MAX_INTEGER_DIGITS = 11
_READ_BYTES = 4 << 20
_SHOWN_CHARS = 40

_UTF8_BOM = b"\xef\xbb\xbf"
_GB18030_BOM = b"\x84\x31\x95\x33"
_QUOTE, _COMMA, _NEWLINE, _CR = 34, 44, 10, 13

_DECIMAL_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"
# Unsigned, at most 11 digits before the point and 3 after: the nearest double to such a value, times 1000, is within
# 0.03 of the exact thousandths (below 10^14), so rounding it gives them exactly.
_PLAIN_DECIMAL_RE = r"^[0-9]{1,11}(?:\.[0-9]{0,3})?$"
_TIME_RE = (
    r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?\s*(?P<z>[Zz]|(?P<zs>[+-])(?P<zh>\d{2}):?(?P<zm>\d{2})?)?$"
)
_DATE_RE = (
    r"^(?P<y>\d{4})(?:[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})|(?P<mo2>\d{2})(?P<d2>\d{2}))"
    r"(?:[ T]0?0:00(?::00(?:\.0+)?)?)?$"
)
_WIDE_NAME_RE = re.compile(r"^([pq])0*([1-9]\d?)$")


class FileFormatError(ValueError):
    """The whole file is unusable: not CSV or XLSX, an encoding we do not read, a wrong header."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row refused by its own checks: its line in the file and every error found in it."""

    line: int
    errors: list[str]


@dataclass(slots=True)
class Chunk:
    """Readings of a run of consecutive rows (``frame``, columns as in ``FRAME_SCHEMA``, kWh and kvarh in
    thousandths, interval ends in UTC) and the rows of that run that were refused."""

    frame: pl.DataFrame
    rejected: list[Rejection] = field(default_factory=list)


def iter_readings(
    data: bytes | BinaryIO | str | os.PathLike,
    *,
    file_format: Literal["long", "wide96"],
    file_name: str,
    chunk_rows: int = 500_000,
) -> Iterator[Chunk]:
    """The readings of a CSV or XLSX file, chunk by chunk. ``data`` is the file's content, an open binary
    file (left open) or a path. Raises ``FileFormatError`` while iterating, before the first chunk for a
    bad header."""
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {FORMATS}, not {file_format!r}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    rows_per_chunk = chunk_rows if file_format == "long" else max(1, chunk_rows // len(P_COLUMNS))
    if isinstance(data, bytes | bytearray | memoryview):
        stream, owned = io.BytesIO(data), False
    elif isinstance(data, str | os.PathLike):
        stream, owned = open(data, "rb"), True  # noqa: SIM115 - closed below, after the last chunk
    else:
        stream, owned = data, False
    try:
        head = stream.read(_READ_BYTES)
        _refuse_other_files(head, file_name)
        if head.startswith(b"PK\x03\x04"):
            # openpyxl needs to seek; an XLSX file is small enough to hold (see the module docstring).
            source = data if owned else io.BytesIO(head + stream.read())
            yield from _xlsx_chunks(source, file_name, file_format, rows_per_chunk)
        else:
            yield from _csv_chunks(stream, head, file_name, file_format, rows_per_chunk)
    finally:
        if owned:
            stream.close()


# --- whole-file checks and header ------------------------------------------------------------------------


def _refuse_other_files(head: bytes, file_name: str) -> None:
    if not head:
        raise FileFormatError(gettext("“%(name)s” is empty.") % {"name": file_name})
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileFormatError(
            gettext("“%(name)s” is an old Excel file (.xls) or a protected workbook; save it as .xlsx or CSV.")
            % {"name": file_name}
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileFormatError(gettext("“%(name)s” is UTF-16 text; save it as CSV in UTF-8.") % {"name": file_name})
    if not head.startswith(b"PK\x03\x04") and b"\x00" in head[:65536]:
        raise FileFormatError(gettext("“%(name)s” is not a CSV or XLSX file.") % {"name": file_name})


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the columns of the header are: ``positions`` maps our column names to 0-based positions;
    ``width`` counts every header cell, ``named`` those up to the last one with a name."""

    file_format: str
    positions: dict[str, int]
    width: int
    named: int

    @property
    def has_q(self) -> bool:
        return "q1" in self.positions


def _canonical(name: str) -> str:
    name = name.replace("\ufeff", "").strip().lower()
    match = _WIDE_NAME_RE.match(name)
    return f"{match[1]}{match[2]}" if match else name


def _layout(header: Sequence[str], file_format: str) -> _Layout:
    names = [_canonical(h) for h in header]
    named = len(names)
    while named and not names[named - 1]:
        named -= 1
    if not named:
        raise FileFormatError(gettext("The first row is blank; it must be the header."))
    if file_format == "long":
        required, optional = LONG_REQUIRED, LONG_OPTIONAL
        expected = "metering_point,interval_end,kwh[,kvarh_lag][,kvarh_lead][,estimated]"
    else:
        present = set(names[:named])
        required = WIDE_REQUIRED + (Q_COLUMNS if present & set(Q_COLUMNS) else ())
        optional = Q_COLUMNS
        expected = "metering_point,date,p1…p96[,q1…q96]"
    problems = []
    unnamed = [str(i + 1) for i, n in enumerate(names[:named]) if not n]
    if unnamed:
        problems.append(
            gettext("Header cells without a name in columns %(positions)s.") % {"positions": ", ".join(unnamed)}
        )
    seen: set[str] = set()
    duplicates = []
    for name in names[:named]:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        problems.append(gettext("Columns given twice: %(columns)s.") % {"columns": _column_list(duplicates)})
    missing = [c for c in required if c not in seen]
    if missing:
        problems.append(gettext("Missing columns: %(columns)s.") % {"columns": _column_list(missing)})
    allowed = set(required) | set(optional)
    extra = [n for n in names[:named] if n and n not in allowed]
    if extra:
        problems.append(gettext("Unknown columns: %(columns)s.") % {"columns": _column_list(extra)})
    if problems:
        problems.append(gettext("The header must be %(expected)s.") % {"expected": expected})
        raise FileFormatError(" ".join(problems))
    positions = {n: i for i, n in enumerate(names[:named])}
    return _Layout(file_format=file_format, positions=positions, width=len(names), named=named)


def _column_list(names: Sequence[str]) -> str:
    """Names joined with commas, runs of P or Q columns shortened (``p1–p96``)."""
    shown: list[str] = []
    run: list[tuple[str, int]] = []

    def close_run() -> None:
        if len(run) > 2:
            shown.append(f"{run[0][0]}{run[0][1]}–{run[-1][0]}{run[-1][1]}")
        else:
            shown.extend(f"{letter}{k}" for letter, k in run)
        run.clear()

    for name in names:
        match = _WIDE_NAME_RE.match(name)
        if match and run and run[-1][0] == match[1] and run[-1][1] + 1 == int(match[2]):
            run.append((match[1], int(match[2])))
            continue
        close_run()
        if match:
            run.append((match[1], int(match[2])))
        else:
            shown.append(f"“{name}”" if not name.isidentifier() else name)
    close_run()
    return ", ".join(shown)


# --- CSV --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Records:
    """Whole rows of a CSV file as bytes, with per row: start and end offsets in ``data`` (the end before
    the newline), the line the row starts on, its number of fields, and whether it is blank."""

    data: bytes
    start: np.ndarray
    end: np.ndarray
    line: np.ndarray
    fields: np.ndarray
    blank: np.ndarray


def _scan_records(stream: BinaryIO, head: bytes, first_line: int, file_name: str) -> Iterator[_Records]:
    """Rows of the stream as they are read, cut where a newline lies outside double quotes. Quotes are
    counted, not parsed: a quote toggles between inside and outside, as in RFC 4180 (``""`` toggles twice)."""
    carry, line, block = b"", first_line, head
    while True:
        eof = not block
        buf = carry + block if carry else block
        if not buf:
            return
        arr = np.frombuffer(buf, dtype=np.uint8)
        newlines = np.flatnonzero(arr == _NEWLINE)
        commas = np.flatnonzero(arr == _COMMA)
        quotes = arr == _QUOTE
        unclosed = False
        if quotes.any():
            # Quote parity before each byte; a uint8 running sum wraps but keeps its parity.
            inside = np.cumsum(quotes, dtype=np.uint8) & 1
            newlines_outside = newlines[inside[newlines] == 0]
            commas = commas[inside[commas] == 0]
            unclosed = bool(inside[-1])
        else:
            newlines_outside = newlines
        ends = newlines_outside
        if eof:
            if unclosed:
                start = int(ends[-1]) + 1 if len(ends) else 0
                row_line = line + int(np.searchsorted(newlines, start))
                raise FileFormatError(
                    gettext("“%(name)s”, line %(line)s: a quoted value is never closed.")
                    % {"name": file_name, "line": row_line}
                )
            if not len(ends) or ends[-1] != len(buf) - 1:
                ends = np.append(ends, len(buf))
            complete = len(buf)
        elif not len(ends):
            carry, block = buf, stream.read(_READ_BYTES)
            continue
        else:
            complete = int(ends[-1]) + 1
        starts = np.concatenate(([0], ends[:-1] + 1))
        length = ends - starts
        last = arr[np.maximum(ends - 1, 0)] if len(arr) else np.zeros(0, np.uint8)
        blank = (length == 0) | ((length == 1) & (last == _CR))
        yield _Records(
            data=buf[:complete],
            start=starts,
            end=ends,
            line=line + np.searchsorted(newlines, starts),
            fields=np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1,
            blank=blank,
        )
        if eof:
            return
        line += int(np.searchsorted(newlines, complete))
        carry, block = buf[complete:], stream.read(_READ_BYTES)


class _Codec:
    """The file's encoding, decided by the first bytes that are not ASCII."""

    def __init__(self, file_name: str, encoding: str | None) -> None:
        self.file_name = file_name
        self.encoding = encoding

    def utf8(self, data: bytes, first_line: int) -> bytes:
        if data.isascii():
            return data
        if self.encoding in (None, "utf-8"):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                if self.encoding == "utf-8":
                    self._refuse(data, error, first_line)
            else:
                self.encoding = "utf-8"
                return data
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            self._refuse(data, error, first_line)
        self.encoding = "gb18030"
        return text.encode("utf-8")

    def _refuse(self, data: bytes, error: UnicodeDecodeError, first_line: int) -> None:
        line = first_line + data.count(b"\n", 0, error.start)
        if self.encoding == "utf-8":
            message = gettext("“%(name)s”, line %(line)s: the text is not UTF-8 like the lines before it.")
        else:
            message = gettext("“%(name)s”, line %(line)s: the text is neither UTF-8 nor GB18030.")
        raise FileFormatError(message % {"name": self.file_name, "line": line})


def _csv_chunks(stream: BinaryIO, head: bytes, file_name: str, file_format: str, rows: int) -> Iterator[Chunk]:
    encoding = None
    if head.startswith(_UTF8_BOM):
        head, encoding = head[len(_UTF8_BOM) :], "utf-8"
    elif head.startswith(_GB18030_BOM):
        head, encoding = head[len(_GB18030_BOM) :], "gb18030"
    codec = _Codec(file_name, encoding)
    layout: _Layout | None = None
    pending: list[_Records] = []
    pending_rows = 0
    for records in _scan_records(stream, head, 1, file_name):
        first = 0
        if layout is None:
            data_rows = np.flatnonzero(~records.blank)
            if not len(data_rows):
                continue
            h = int(data_rows[0])
            text = codec.utf8(records.data[records.start[h] : records.end[h]], int(records.line[h])).decode()
            layout = _layout(next(csv.reader([text])), file_format)
            first = h + 1
        position = int(records.start[first]) if first < len(records.start) else len(records.data)
        data_rows = np.flatnonzero(~records.blank[first:]) + first
        used = 0
        while len(data_rows) - used >= rows - pending_rows:
            last = int(data_rows[used + rows - pending_rows - 1])
            cut = min(int(records.end[last]) + 1, len(records.data))
            pending.append(_slice(records, first, last + 1, position, cut))
            used += rows - pending_rows
            yield _csv_chunk(pending, layout, codec, file_name)
            pending, pending_rows = [], 0
            first, position = last + 1, cut
        if first < len(records.start):
            pending.append(_slice(records, first, len(records.start), position, len(records.data)))
            pending_rows += len(data_rows) - used
    if layout is None:
        raise FileFormatError(gettext("“%(name)s” is empty.") % {"name": file_name})
    if pending_rows:
        yield _csv_chunk(pending, layout, codec, file_name)


def _slice(records: _Records, first: int, stop: int, position: int, cut: int) -> _Records:
    return _Records(
        data=records.data[position:cut],
        start=records.start[first:stop] - position,
        end=records.end[first:stop] - position,
        line=records.line[first:stop],
        fields=records.fields[first:stop],
        blank=records.blank[first:stop],
    )


def _csv_chunk(parts: list[_Records], layout: _Layout, codec: _Codec, file_name: str) -> Chunk:
    lines = np.concatenate([p.line for p in parts])
    blank = np.concatenate([p.blank for p in parts])
    fields = np.concatenate([p.fields for p in parts])
    data = codec.utf8(b"".join(p.data for p in parts), int(lines[0]))
    frame = pl.read_csv(
        data,
        has_header=False,
        schema={f"c{i}": pl.String for i in range(layout.width)},
        quote_char='"',
        truncate_ragged_lines=True,
        raise_if_empty=False,
    )
    # polars keeps blank lines as rows of nulls (older versions dropped them): accept either.
    if frame.height == len(lines):
        frame = frame.filter(pl.Series(~blank))
    elif frame.height != int((~blank).sum()):
        raise FileFormatError(
            gettext("“%(name)s”, lines %(first)s–%(last)s: stray quote characters; the rows cannot be told apart.")
            % {"name": file_name, "first": int(lines[0]), "last": int(lines[-1])}
        )
    frame = frame.with_columns(line=pl.Series(lines[~blank], dtype=pl.Int64), fields=pl.Series(fields[~blank]))
    return _checked(frame, layout)


# --- XLSX -------------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.microsecond >= 500_000:
            value += timedelta(seconds=1)
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_chunks(source: object, file_name: str, file_format: str, rows: int) -> Iterator[Chunk]:
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise FileFormatError(
            gettext("“%(name)s” cannot be read as an XLSX workbook (%(error)s).") % {"name": file_name, "error": error}
        ) from error
    try:
        if not workbook.worksheets:
            raise FileFormatError(gettext("“%(name)s” is empty.") % {"name": file_name})
        sheet = workbook.worksheets[0]
        # Some writers store a wrong sheet size; read every row there is.
        sheet.reset_dimensions()
        layout: _Layout | None = None
        lines: list[int] = []
        widths: list[int] = []
        values: list[list[str | None]] = []
        for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in row]
            while cells and (cells[-1] is None or not cells[-1].strip()):
                cells.pop()
            if not cells:
                continue
            if layout is None:
                layout = _layout([c or "" for c in cells], file_format)
                continue
            lines.append(line)
            # Missing cells at the end of a row are blanks, not a short row as in CSV.
            widths.append(max(len(cells), layout.named))
            values.append((cells + [None] * layout.width)[: layout.width])
            if len(lines) == rows:
                yield _xlsx_chunk(lines, widths, values, layout)
                lines, widths, values = [], [], []
        if layout is None:
            raise FileFormatError(gettext("“%(name)s” is empty.") % {"name": file_name})
        if lines:
            yield _xlsx_chunk(lines, widths, values, layout)
    finally:
        workbook.close()


def _xlsx_chunk(lines: list[int], widths: list[int], values: list[list[str | None]], layout: _Layout) -> Chunk:
    columns = {f"c{i}": pl.Series(column, dtype=pl.String) for i, column in enumerate(zip(*values, strict=True))}
    frame = pl.DataFrame(columns).with_columns(
        line=pl.Series(lines, dtype=pl.Int64), fields=pl.Series(widths, dtype=pl.Int64)
    )
    return _checked(frame, layout)


# --- checks -----------------------------------------------------------------------------------------------
#
# Two passes, so that a clean row costs only vectorised work: the first gives every checked cell a code
# (0 = fine) and its value; messages are written in a second pass over the refused rows alone.

_FINE, _MISSING, _INVALID, _NEGATIVE, _TOO_LARGE, _OFF_QUARTER = 0, 1, 2, 3, 4, 5
_UTC = FRAME_SCHEMA["interval_end"]
_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
)
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M:%S%#z", "%Y-%m-%d %H:%M%#z")


@dataclass(frozen=True, slots=True)
class _Check:
    """A checked cell: the column with its text, the one with its code, the label naming it in messages (a
    header name, or for wide96 cells the column holding the cell's header name) and what "invalid" means."""

    text: str
    code: str
    label: str | pl.Expr
    invalid: str
    values: tuple[tuple[str, pl.Expr], ...] = ()

    def message(self) -> pl.Expr:
        code, value = pl.col(self.code), _shown(pl.col(self.text))
        return (
            pl.when(code == _MISSING)
            .then(_message(gettext("%(column)s: missing value."), column=self.label))
            .when(code == _INVALID)
            .then(_message(self.invalid, column=self.label, value=value, **dict(self.values)))
            .when(code == _NEGATIVE)
            .then(_message(gettext("%(column)s: “%(value)s” is negative."), column=self.label, value=value))
            .when(code == _TOO_LARGE)
            .then(_message(gettext("%(column)s: “%(value)s” is too large."), column=self.label, value=value))
            .when(code == _OFF_QUARTER)
            .then(_message(gettext("%(column)s: %(value)s is not on a quarter-hour."), column=self.label, value=value))
        )


def _checked(frame: pl.DataFrame, layout: _Layout) -> Chunk:
    """Rows of text (columns ``c0…``, ``line``, ``fields``) checked and converted for the layout."""
    rows = frame.select(
        "line",
        "fields",
        *(pl.col(f"c{i}").str.strip_chars().alias(name) for name, i in layout.positions.items()),
    ).with_columns(pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in layout.positions)
    # A row with too many or too few fields has its values shifted: that is its only error.
    rows = rows.with_columns(
        ((pl.col("fields") > layout.width) | (pl.col("fields") < layout.named)).alias("misshapen"),
        pl.when(pl.col("metering_point").is_null()).then(_MISSING).otherwise(_FINE).cast(pl.UInt8).alias("point_code"),
    )
    if layout.file_format == "long":
        return _long(rows, layout)
    return _wide(rows, layout)


def _message(template: str, **values: str | pl.Expr) -> pl.Expr:
    """A translated message as a polars expression: ``%(name)s`` placeholders filled from ``values``."""
    pieces = re.split(r"%\((\w+)\)s", template)
    parts = [
        (pl.lit(piece) if i % 2 == 0 else _as_expr(values[piece])) for i, piece in enumerate(pieces) if piece or i % 2
    ]
    return pl.concat_str(parts) if parts else pl.lit(template)


def _as_expr(value: str | pl.Expr) -> pl.Expr:
    return pl.lit(value) if isinstance(value, str) else value


def _shown(text: pl.Expr) -> pl.Expr:
    """A cell's text as quoted in a message, cut short when long."""
    return pl.when(text.str.len_chars() > _SHOWN_CHARS).then(text.str.slice(0, _SHOWN_CHARS) + "…").otherwise(text)


def _shape_message() -> pl.Expr:
    return _message(
        gettext("The row has %(count)s fields; the header has %(expected)s."),
        count=pl.col("fields").cast(pl.String),
        expected=pl.col("expected_fields").cast(pl.String),
    )


_POINT = _Check(text="metering_point", code="point_code", label="metering_point", invalid="")


# --- values


def _decimal_parts(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Integer part without leading zeros, and fraction digits, of a decimal text (garbage for others)."""
    parts = text.str.strip_chars_start("+-").str.split_exact(".", 1)
    return parts.struct.field("field_0").str.strip_chars_start("0"), parts.struct.field("field_1").fill_null("")


def _decimal_code(text: pl.Expr, integer: pl.Expr, fraction: pl.Expr, *, required: bool) -> pl.Expr:
    return (
        pl.when(text.is_null())
        .then(_MISSING if required else _FINE)
        .when(~text.str.contains(_DECIMAL_RE))
        .then(_INVALID)
        .when(text.str.starts_with("-") & (integer.str.contains("[1-9]") | fraction.str.contains("[1-9]")))
        .then(_NEGATIVE)
        .when(integer.str.len_bytes() > _MAX_INTEGER_DIGITS)
        .then(_TOO_LARGE)
        .otherwise(_FINE)
        .cast(pl.UInt8)
    )


def _milli(integer: pl.Expr, fraction: pl.Expr) -> pl.Expr:
    """Thousandths, half-up: only the fourth decimal decides (…x5 and above rounds up, whatever follows)."""
    whole = pl.when(integer == "").then(0).otherwise(integer.cast(pl.Int64, strict=False))
    return (
        whole * 1000
        + fraction.str.slice(0, 3).str.pad_end(3, "0").cast(pl.Int64, strict=False)
        + (fraction.str.slice(3, 1) >= "5").cast(pl.Int64)
    )


def thousandths(text: pl.Expr) -> pl.Expr:
    """Int64 thousandths of a non-negative decimal text, half-up beyond the third decimal; null for
    anything else (blank, negative, not a plain decimal, too large)."""
    text = text.str.strip_chars()
    integer, fraction = _decimal_parts(text)
    return pl.when(_decimal_code(text, integer, fraction, required=True) == _FINE).then(_milli(integer, fraction))


def _with_decimal(frame: pl.DataFrame, check: _Check, value: str, *, required: bool) -> pl.DataFrame:
    text = pl.col(check.text)
    if frame.select((text.str.contains(_PLAIN_DECIMAL_RE) | text.is_null()).all()).item():
        # Every cell a plain decimal (the usual file): read through a float, exact for these, in a fraction of
        # the time the general rules below take; the result is the same.
        code = pl.when(text.is_null()).then(_MISSING if required else _FINE).otherwise(_FINE).cast(pl.UInt8)
        milli = (text.cast(pl.Float64) * 1000).round().cast(pl.Int64)
        return frame.with_columns(code.alias(check.code), milli.alias(value))
    integer, fraction = _decimal_parts(text)
    frame = frame.with_columns(integer.alias("_integer"), fraction.alias("_fraction"))
    integer, fraction = pl.col("_integer"), pl.col("_fraction")
    frame = frame.with_columns(_decimal_code(text, integer, fraction, required=required).alias(check.code))
    milli = pl.when(pl.col(check.code) == _FINE).then(_milli(integer, fraction))
    return frame.with_columns(milli.alias(value)).drop("_integer", "_fraction")


# --- times and dates


def _local_to_utc(local: pl.Expr) -> pl.Expr:
    return (
        local.dt.replace_time_zone(LOCAL_TIME_ZONE, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(_UTC)
    )


def _strptime(text: pl.Expr, time_format: str) -> pl.Expr:
    if time_format.endswith("z"):
        return text.str.strptime(_UTC, time_format, strict=False)
    return _local_to_utc(text.str.strptime(pl.Datetime("us"), time_format, strict=False))


def _usual_format(texts: pl.Series) -> str | None:
    """The strptime format most of the first times follow, if any: the fast path for the whole chunk."""
    sample = texts.drop_nulls().head(64).to_frame("t")
    counts = {
        f: sample.select(_strptime(pl.col("t"), f).is_not_null().sum()).item() for f in _NAIVE_FORMATS + _AWARE_FORMATS
    }
    best = max(counts, key=counts.__getitem__, default=None)
    return best if best and counts[best] else None


def _date_of(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    return pl.concat_str([year, pl.lit("-"), month.str.zfill(2), pl.lit("-"), day.str.zfill(2)]).str.to_date(
        "%Y-%m-%d", strict=False
    )


def _times_by_pattern(texts: pl.Series) -> pl.DataFrame:
    """UTC times (null when not a time) and whether they have a fraction of a second, for times outside
    the usual format: 24:00, other separators, offsets without a colon, fractions."""
    g = texts.to_frame("t").select(pl.col("t").str.extract_groups(_TIME_RE)).unnest("t")
    hour = pl.col("h").cast(pl.Int64, strict=False)
    minute = pl.col("mi").cast(pl.Int64, strict=False)
    second = pl.col("s").cast(pl.Int64, strict=False).fill_null(0)
    split_second = pl.col("f").str.contains("[1-9]").fill_null(False)
    offset_hours = pl.col("zh").cast(pl.Int64, strict=False)
    offset_minutes = pl.col("zm").cast(pl.Int64, strict=False).fill_null(0)
    g = g.with_columns(
        _date_of(pl.col("y"), pl.col("mo"), pl.col("d")).alias("day"),
        hour.alias("hour"),
        minute.alias("minute"),
        second.alias("second"),
        split_second.alias("split"),
        pl.when(pl.col("z").str.to_uppercase() == "Z")
        .then(0)
        .when(pl.col("zs") == "-")
        .then(-(offset_hours * 60 + offset_minutes))
        .when(pl.col("zs") == "+")
        .then(offset_hours * 60 + offset_minutes)
        .alias("offset"),
        (offset_hours.is_null() | ((offset_hours <= 14) & (offset_minutes <= 59))).alias("offset_ok"),
    )
    valid = (
        pl.col("day").is_not_null()
        & (pl.col("hour") <= 24)
        & (pl.col("minute") <= 59)
        & (pl.col("second") <= 59)
        & ((pl.col("hour") < 24) | ((pl.col("minute") == 0) & (pl.col("second") == 0) & ~pl.col("split")))
        & pl.col("offset_ok")
    ).fill_null(False)
    local = pl.col("day").cast(pl.Datetime("us")) + pl.duration(
        hours=pl.col("hour"), minutes=pl.col("minute"), seconds=pl.col("second")
    )
    utc = (
        pl.when(pl.col("offset").is_null())
        .then(_local_to_utc(local))
        .otherwise((local - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC"))
    )
    return g.select(pl.when(valid).then(utc).alias("_utc"), pl.col("split").alias("_split"))


def _with_interval_end(frame: pl.DataFrame, check: _Check) -> pl.DataFrame:
    text = pl.col(check.text)
    usual = _usual_format(frame[check.text])
    fast = _strptime(text, usual) if usual else pl.lit(None, _UTC)
    frame = frame.with_columns(fast.alias("_utc"), pl.lit(False).alias("_split"))
    unusual = frame["_utc"].is_null() & frame[check.text].is_not_null()
    if unusual.any():
        positions = unusual.arg_true()
        parsed = _times_by_pattern(frame[check.text].filter(unusual))
        frame = frame.with_columns(
            frame["_utc"].scatter(positions, parsed["_utc"]), frame["_split"].scatter(positions, parsed["_split"])
        )
    utc = pl.col("_utc")
    code = (
        pl.when(text.is_null())
        .then(_MISSING)
        .when(utc.is_null())
        .then(_INVALID)
        # A multiple of 15 minutes since the epoch is a quarter-hour in UTC and in every whole-hour zone.
        .when((utc.dt.epoch("us") % 900_000_000 != 0) | pl.col("_split"))
        .then(_OFF_QUARTER)
        .otherwise(_FINE)
        .cast(pl.UInt8)
    )
    return frame.with_columns(code.alias(check.code)).drop("_split")


def _with_day(frame: pl.DataFrame, check: _Check) -> pl.DataFrame:
    g = frame.select(pl.col(check.text).str.extract_groups(_DATE_RE)).unnest(check.text)
    day = _date_of(pl.col("y"), pl.coalesce("mo", "mo2"), pl.coalesce("d", "d2"))
    frame = frame.with_columns(g.select(day.alias("day")).to_series())
    code = pl.when(pl.col(check.text).is_null()).then(_MISSING).when(pl.col("day").is_null()).then(_INVALID)
    return frame.with_columns(code.otherwise(_FINE).cast(pl.UInt8).alias(check.code))


# --- the two shapes


def _rejections(errors: pl.DataFrame) -> list[Rejection]:
    """Rejections from ``line`` and ``errors`` (a list of messages), ordered by line."""
    errors = errors.sort("line")
    return [
        Rejection(line=line, errors=messages)
        for line, messages in zip(errors["line"].to_list(), errors["errors"].to_list(), strict=True)
    ]


def _long(rows: pl.DataFrame, layout: _Layout) -> Chunk:
    time = _Check("interval_end", "time_code", "interval_end", gettext("%(column)s: “%(value)s” is not a valid time."))
    rows = _with_interval_end(rows, time)
    not_a_number = gettext("%(column)s: “%(value)s” is not a number.")
    kwh = _Check("kwh", "kwh_code", "kwh", not_a_number)
    rows = _with_decimal(rows, kwh, "kwh_milli", required=True)
    checks = [_POINT, time, kwh]
    values = [
        pl.col("metering_point").alias("point"),
        pl.col("_utc").alias("interval_end"),
        "kwh_milli",
    ]
    for column, value in (("kvarh_lag", "lag_milli"), ("kvarh_lead", "lead_milli")):
        if column in layout.positions:
            check = _Check(column, f"{column}_code", column, not_a_number)
            rows = _with_decimal(rows, check, value, required=False)
            checks.append(check)
            values.append(value)
        else:
            values.append(pl.lit(None, pl.Int64).alias(value))
    if "estimated" in layout.positions:
        check = _Check(
            "estimated", "estimated_code", "estimated", gettext("%(column)s: “%(value)s” is not 0, 1, Y or N.")
        )
        flag = pl.col("estimated").str.to_uppercase()
        rows = rows.with_columns(
            pl.when(flag.is_null() | flag.is_in(["0", "1", "Y", "N"]))
            .then(_FINE)
            .otherwise(_INVALID)
            .cast(pl.UInt8)
            .alias(check.code),
            flag.is_in(["1", "Y"]).fill_null(False).alias("estimated_flag"),
        )
        checks.append(check)
        values.append(pl.col("estimated_flag").alias("estimated"))
    else:
        values.append(pl.lit(False).alias("estimated"))
    refused = pl.col("misshapen") | pl.any_horizontal(pl.col(c.code) != _FINE for c in checks)
    rows = rows.with_columns(refused.alias("refused"))
    errors = (
        rows.filter("refused")
        .with_columns(pl.lit(layout.named).alias("expected_fields"))
        .select(
            "line",
            pl.when("misshapen")
            .then(pl.concat_list([_shape_message()]))
            .otherwise(pl.concat_list([c.message() for c in checks]).list.drop_nulls())
            .alias("errors"),
        )
    )
    readings = rows.filter(~pl.col("refused")).select("line", *values)
    return Chunk(frame=_frame(readings), rejected=_rejections(errors))


def _wide(rows: pl.DataFrame, layout: _Layout) -> Chunk:
    date = _Check("date", "date_code", "date", gettext("%(column)s: “%(value)s” is not a valid date."))
    rows = _with_day(rows, date)
    # Cells of rows with shifted fields mean nothing.
    well_formed = rows.filter(~pl.col("misshapen"))
    cells = well_formed.unpivot(
        on=list(P_COLUMNS), index=["line", "metering_point", "day"], variable_name="p_column", value_name="p"
    )
    if layout.has_q:
        # Same order as the P cells: column by column, and within a column row by row.
        cells = cells.hstack(
            well_formed.unpivot(on=list(Q_COLUMNS), index=[], variable_name="q_column", value_name="q")
        )
    else:
        cells = cells.with_columns(q_column=pl.lit(None, pl.String), q=pl.lit(None, pl.String))
    not_a_number = gettext("%(column)s: “%(value)s” is not a number.")
    active = _Check("p", "p_code", pl.col("p_column"), not_a_number)
    reactive = _Check("q", "q_code", pl.col("q_column"), not_a_number)
    orphan = _Check(
        "q",
        "orphan_code",
        pl.col("q_column"),
        gettext("%(column)s: “%(value)s” is given but %(other)s is blank."),
        values=(("other", pl.col("p_column")),),
    )
    cells = _with_decimal(cells, active, "kwh_milli", required=False)
    cells = _with_decimal(cells, reactive, "lag_milli", required=False)
    cells = cells.with_columns(
        pl.when(pl.col("p").is_null() & pl.col("q").is_not_null())
        .then(_INVALID)
        .otherwise(_FINE)
        .cast(pl.UInt8)
        .alias(orphan.code),
        pl.col("p_column").str.slice(1).cast(pl.Int64).alias("k"),
    )
    row_refused = pl.col("misshapen") | (pl.col("point_code") != _FINE) | (pl.col("date_code") != _FINE)
    cell_refused = pl.any_horizontal(pl.col(c.code) != _FINE for c in (active, reactive, orphan))
    bad_rows = rows.filter(row_refused).with_columns(pl.lit(layout.named).alias("expected_fields"))
    bad_cells = cells.filter(cell_refused)
    # One message per line of this frame, ordered: the row's own errors, then its cells' in column order.
    messages = pl.concat(
        [
            bad_rows.select("line", order=pl.lit(0, pl.Int64), error=pl.when("misshapen").then(_shape_message())),
            bad_rows.select(
                "line", order=pl.lit(1, pl.Int64), error=pl.when(~pl.col("misshapen")).then(_POINT.message())
            ),
            bad_rows.select(
                "line", order=pl.lit(2, pl.Int64), error=pl.when(~pl.col("misshapen")).then(date.message())
            ),
            bad_cells.select("line", order=3 * pl.col("k"), error=active.message()),
            bad_cells.select("line", order=3 * pl.col("k") + 1, error=reactive.message()),
            bad_cells.select("line", order=3 * pl.col("k") + 2, error=orphan.message()),
        ]
    )
    errors = (
        messages.drop_nulls("error").sort("line", "order").group_by("line", maintain_order=True).agg(errors="error")
    )
    end = pl.col("day").cast(pl.Datetime("us")) + pl.duration(minutes=15 * pl.col("k"))
    readings = (
        cells.join(errors.select("line"), on="line", how="anti")
        .filter(pl.col("kwh_milli").is_not_null())
        .select(
            "line",
            pl.col("metering_point").alias("point"),
            _local_to_utc(end).alias("interval_end"),
            "kwh_milli",
            "lag_milli",
            pl.lit(None, pl.Int64).alias("lead_milli"),
            pl.lit(False).alias("estimated"),
        )
        .sort("line", "interval_end")
    )
    return Chunk(frame=_frame(readings), rejected=_rejections(errors))


def _frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(dtype) for name, dtype in FRAME_SCHEMA.items())
