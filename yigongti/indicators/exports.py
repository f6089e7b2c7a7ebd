"""Excel (openpyxl) and PDF (WeasyPrint) answers for the indicator pages."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel refuses sheet titles with these characters (and longer than 31).
BAD_TITLE = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def _cell(value: Any) -> Any:
    text = value if isinstance(value, int | float) or value is None else str(value)
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@") and not _numeric(text):
        return "'" + text  # never let a cell be read as a formula
    return text


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def xlsx(filename: str, title: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook always has its sheet
    sheet.title = (str(title).translate(BAD_TITLE) or "Sheet")[:31]
    sheet.append([str(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max((len(str(c.value or "")) for c in column), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width * 1.6, 8), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def pdf(filename: str, html: str, base_url: str) -> HttpResponse:
    from weasyprint import HTML

    document = HTML(string=html, base_url=base_url).write_pdf()
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return response
