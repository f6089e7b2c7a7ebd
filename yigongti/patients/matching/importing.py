"""Reading resident files for ``import_residents``: CSV (UTF-8 or GBK) or FHIR Patients.

A reader yields ``SourceRow`` (line number, source id and the fields as text) or
``RowProblem`` (line number and a translated reason); it never stops at a bad row. Problems
that make the whole file unreadable (missing columns, not a CSV or FHIR file) raise
``InvalidInput`` before anything is written.

CSV header: ``source_id,name,sex,birth_date,id_number,phone,address`` (any order, extra columns
ignored; every column must be present, any field but ``source_id`` may be empty). The
encoding is UTF-8 (with or without BOM) or, when that fails, GBK (read as its superset
GB 18030). FHIR: a ``Bundle`` of ``Patient`` entries or NDJSON with one
``Patient`` per line (the FHIR bulk-data format); the resource's ``id`` is the source id.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import InvalidInput

COLUMNS = ("source_id", "name", "sex", "birth_date", "id_number", "phone", "address")

SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int
    source_id: str
    name: str
    sex: str
    birth_date: str
    id_number: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    source_id: str
    reason: str


def detect_encoding(sample: bytes) -> str:
    """'utf-8-sig' when the sample is UTF-8, else 'gb18030' (GBK's superset) when it is GBK.

    Only these two are accepted, so detection is a strict decode of each in turn: a guessing
    detector takes short GBK files for Big5 or Korean and garbles every name.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)  # a character cut at the sample's end is not an error
        except UnicodeDecodeError:
            continue
        return encoding
    raise InvalidInput(_("The file is neither UTF-8 nor GBK text."), field="file")


def file_kind(path: Path) -> str:
    """'csv', 'ndjson' or 'bundle', from the first bytes of the file."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if not text.startswith(b"{"):
        return "csv"
    first_line = text.split(b"\n", 1)[0].strip()
    try:
        first = json.loads(first_line)
    except ValueError:
        return "bundle"  # a pretty-printed JSON document spans lines
    return "bundle" if isinstance(first, dict) and first.get("resourceType") == "Bundle" else "ndjson"


def read_rows(path: Path) -> Iterator[SourceRow | RowProblem]:
    kind = file_kind(path)
    if kind == "csv":
        return read_csv(path)
    if kind == "ndjson":
        return read_ndjson(path)
    return read_bundle(path)


def read_csv(path: Path) -> Iterator[SourceRow | RowProblem]:
    with path.open("rb") as handle:
        encoding = detect_encoding(handle.read(SAMPLE_BYTES))
    return _csv_rows(path, encoding)


class _Lines:
    """The file's lines decoded one by one, so that one badly encoded line (past the sample the
    encoding was detected from) becomes one rejected row instead of ending the file."""

    def __init__(self, handle: io.BufferedReader, encoding: str) -> None:
        self.handle = handle
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.number = 0
        self.bad: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            if self.number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                yield raw.decode(self.encoding)
            except UnicodeDecodeError:
                self.bad.append(self.number)
                yield "\n"  # keeps the line count; the reader reports it


def _csv_rows(path: Path, encoding: str) -> Iterator[SourceRow | RowProblem]:
    with path.open("rb") as handle:
        lines = _Lines(handle, encoding)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInput(_("The file is empty."), field="file") from None
        except csv.Error:
            raise InvalidInput(_("The file is neither UTF-8 nor GBK text."), field="file") from None
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise InvalidInput(
                _("The CSV header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)},
                field="file",
            )
        where = [names.index(c) for c in COLUMNS]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield RowProblem(
                    reader.line_num, "", _("The line is not valid CSV: %(error)s") % {"error": error}
                )
                continue
            line = reader.line_num
            if lines.bad and lines.bad[-1] == line:
                yield RowProblem(line, "", _("The line is not in the file's encoding."))
                continue
            if not any(v.strip() for v in values):
                continue
            if len(values) < len(names):
                values = values + [""] * (len(names) - len(values))
            fields = [values[i].strip() for i in where]
            yield SourceRow(line, *fields)


def _name_of(resource: dict[str, Any]) -> str:
    names = resource.get("name") or []
    if not isinstance(names, list) or not names or not isinstance(names[0], dict):
        return ""
    first = names[0]
    if first.get("text"):
        return str(first["text"])
    given = first.get("given") or []
    return str(first.get("family") or "") + "".join(str(g) for g in given if isinstance(g, str))


ID_SYSTEM_MARKERS = ("2.16.156.10011.1.5", "idcard", "id-card", "resident-id", "sfz")
ID_TYPE_CODES = ("NNCHN", "NI", "CN-ID", "01")


def _id_of(resource: dict[str, Any]) -> str:
    for ident in resource.get("identifier") or []:
        if not isinstance(ident, dict):
            continue
        system = str(ident.get("system") or "").lower()
        codes = [
            str(c.get("code") or "")
            for c in ((ident.get("type") or {}).get("coding") or [])
            if isinstance(c, dict)
        ]
        if any(m in system for m in ID_SYSTEM_MARKERS) or any(c in ID_TYPE_CODES for c in codes):
            return str(ident.get("value") or "")
    return ""


def _phone_of(resource: dict[str, Any]) -> str:
    for telecom in resource.get("telecom") or []:
        if isinstance(telecom, dict) and telecom.get("system") in ("phone", "sms", None):
            return str(telecom.get("value") or "")
    return ""


def _address_of(resource: dict[str, Any]) -> str:
    for address in resource.get("address") or []:
        if not isinstance(address, dict):
            continue
        if address.get("text"):
            return str(address["text"])
        parts = [address.get(k) or "" for k in ("state", "city", "district")]
        parts += [str(line) for line in address.get("line") or []]
        return "".join(str(p) for p in parts)
    return ""


GENDER = {"male": "M", "female": "F", "other": "", "unknown": ""}


def patient_row(line: int, resource: Any) -> SourceRow | RowProblem:
    """A FHIR Patient resource as a row (fields the importer validates like CSV fields)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        return RowProblem(line, "", _("Not a FHIR Patient resource."))
    source_id = str(resource.get("id") or "")
    gender = resource.get("gender")
    return SourceRow(
        line=line,
        source_id=source_id,
        name=_name_of(resource),
        sex=GENDER.get(str(gender), str(gender)) if gender else "",
        birth_date=str(resource.get("birthDate") or ""),
        id_number=_id_of(resource),
        phone=_phone_of(resource),
        address=_address_of(resource),
    )


def read_ndjson(path: Path) -> Iterator[SourceRow | RowProblem]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                resource = json.loads(text)
            except ValueError:
                yield RowProblem(line, "", _("The line is not valid JSON."))
                continue
            yield patient_row(line, resource)


def read_bundle(path: Path) -> Iterator[SourceRow | RowProblem]:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            bundle = json.load(handle)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("The file is not valid JSON."), field="file") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidInput(_("A FHIR file must be a Bundle or NDJSON of Patient resources."), field="file")
    for number, entry in enumerate(bundle.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        yield patient_row(number, resource)
