"""Reading encounter CSV files for ``import_encounters`` (format: docs/encounters.md).

The encoding is UTF-8 (with or without BOM) or GBK (read as its superset GB 18030), detected by
a strict decode like the residents' import. Each line is decoded on its own, so one badly encoded
line is one rejected row. A missing required column stops the file before anything is written;
a bad row is a ``RowError`` and the import goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from yigongti.core.errors import InvalidInput
from yigongti.patients.matching.importing import SAMPLE_BYTES, detect_encoding

from .bulk import RawEncounter, RowError

#: Every column, in the documented order; the first group must be in the header.
REQUIRED = ("external_id", "kind", "started_at", "total_cost")
OPTIONAL = (
    "health_record_number",
    "id_number",
    "institution_code",
    "department_code",
    "admitted_on",
    "discharged_on",
    "is_tcm",
    "insurance_paid",
    "out_of_pocket",
    "diagnosis_code",
    "residence_county_code",
    "in_county",
    "facility_name",
    "facility_area_code",
)
COLUMNS = REQUIRED + OPTIONAL


def _lines(path: Path, encoding: str, bad: list[int]) -> Iterator[str]:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                yield raw.decode(codec)
            except UnicodeDecodeError:
                bad.append(number)
                yield "\n"  # keeps the line count; the reader reports the line


def count_rows(path: Path) -> int:
    """Lines after the header (a quick upper bound for the progress bar)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


def read_csv(path: Path) -> Iterator[RawEncounter | RowError]:
    """The file's rows; raises ``InvalidInput`` (field ``file``) if it cannot be read at all."""
    with path.open("rb") as handle:
        encoding = detect_encoding(handle.read(SAMPLE_BYTES))
    bad: list[int] = []
    reader = csv.reader(_lines(path, encoding, bad))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(_("The file is empty."), field="file") from None
    except csv.Error:
        raise InvalidInput(_("The file is not a CSV file."), field="file") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InvalidInput(
            _("The CSV header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)},
            field="file",
        )
    if "health_record_number" not in names and "id_number" not in names:
        raise InvalidInput(
            _("The CSV header needs health_record_number or id_number to name the patient."), field="file"
        )
    if "institution_code" not in names and "facility_name" not in names:
        raise InvalidInput(
            _("The CSV header needs institution_code or facility_name to say where."), field="file"
        )
    where = {c: names.index(c) for c in COLUMNS if c in names}
    return _rows(reader, where, bad)


def _rows(
    reader: Iterator[list[str]], where: dict[str, int], bad: list[int]
) -> Iterator[RawEncounter | RowError]:
    line_of = getattr(reader, "line_num", None)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = getattr(reader, "line_num", 0)
            yield RowError(line, "", "file", _("The line is not valid CSV: %(error)s") % {"error": error})
            continue
        line = getattr(reader, "line_num", 0) if line_of is not None else 0
        if bad and bad[-1] == line:
            yield RowError(line, "", "file", _("The line is not in the file's encoding."))
            continue
        if not any(v.strip() for v in values):
            continue
        cell = {c: (values[i].strip() if i < len(values) else "") for c, i in where.items()}
        get = cell.get
        yield RawEncounter(
            line=line,
            external_id=get("external_id", ""),
            kind=get("kind", ""),
            started_at=get("started_at", ""),
            health_record_number=get("health_record_number", ""),
            id_number=get("id_number", ""),
            institution=get("institution_code", ""),
            department=get("department_code", ""),
            admitted_on=get("admitted_on", ""),
            discharged_on=get("discharged_on", ""),
            is_tcm=get("is_tcm", ""),
            total_cost=get("total_cost", ""),
            insurance_paid=get("insurance_paid", ""),
            out_of_pocket=get("out_of_pocket", ""),
            diagnosis_code=get("diagnosis_code", ""),
            residence_county_code=get("residence_county_code", ""),
            in_county=get("in_county", ""),
            facility_name=get("facility_name", ""),
            facility_area_code=get("facility_area_code", ""),
        )
