"""Excel export of any list: one column spec, streamed in chunks so 20,000 rows stay cheap."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


@dataclass(frozen=True)
class Column:
    header: Any  # a lazy translation, rendered at export time
    value: Callable[[Any], Any]
    width: int = 16


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str | int | float) or hasattr(value, "as_tuple"):
        return value
    if hasattr(value, "isoformat"):
        return value
    return str(value)


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title, its columns and rows, and optional lines of text above the table."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Any]
    notes: Sequence[str] = ()


def xlsx_sheets_bytes(sheets: Sequence[Sheet]) -> bytes:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet.title[:31] or "Sheet1")
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        for note in sheet.notes:
            ws.append([str(note)])
        if sheet.notes:
            ws.append([])
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=str(column.header))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_cell(column.value(row)) for column in sheet.columns])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(*, title: str, columns: Sequence[Column], rows: Iterable[Any]) -> bytes:
    return xlsx_sheets_bytes([Sheet(title=title, columns=columns, rows=rows)])


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.xlsx"'
    return response


def xlsx_sheets_response(*, filename: str, sheets: Sequence[Sheet]) -> HttpResponse:
    return _xlsx(xlsx_sheets_bytes(sheets), filename)


def xlsx_response(*, filename: str, title: str, columns: Sequence[Column], rows: Iterable[Any]) -> HttpResponse:
    return _xlsx(xlsx_bytes(title=title, columns=columns, rows=rows), filename)
