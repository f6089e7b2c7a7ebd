"""import_encounters: GBK and UTF-8 files, row-level errors, idempotent re-runs, one audit row and
one signal per chunk, and refusal of unreadable files."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from yigongti.core.errors import InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.encounters.bulk import RawEncounter, encounters_import
from yigongti.encounters.importing import COLUMNS, read_csv
from yigongti.encounters.models import Encounter
from yigongti.encounters.signals import encounters_changed

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "samples" / "encounters.csv"


def _day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


@pytest.fixture
def residents(county):
    return (
        make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1)),
        make_patient(county.village, 2, "黄志强", dt.date(1979, 3, 2), sex="M"),
    )


def _rows(residents) -> list[dict[str, str]]:
    a, b = residents
    visit = {"external_id": "V1", "health_record_number": a.health_record_number, "kind": "outpatient"}
    visit.update(institution_code="441823101001", started_at=f"{_day(5)} 09:10", is_tcm="1")
    visit.update(total_cost="32.00", insurance_paid="20.00", diagnosis_code="J06.9")
    stay = {"external_id": "V2", "id_number": b.id_number.lower(), "kind": "inpatient"}
    stay.update(institution_code="441823000001", department_code="NK", started_at=f"{_day(30)} 10:00")
    stay.update(discharged_on=_day(24), total_cost="5200", insurance_paid="3900", out_of_pocket="1300")
    stay.update(diagnosis_code="i639")
    outside = {"external_id": "V3", "health_record_number": a.health_record_number, "kind": "inpatient"}
    outside.update(facility_name="中山大学附属第一医院", facility_area_code="440104", in_county="0")
    outside.update(started_at=_day(60), admitted_on=_day(60), discharged_on=_day(48))
    outside.update(total_cost="68450.00", insurance_paid="39480.00", diagnosis_code="C34.9")
    good = [visit, stay, outside]
    bad = [
        ({"external_id": "B1", "health_record_number": "44182399999999999"}, "health_record_number"),
        ({"external_id": "B2", "institution_code": "999999999999"}, "institution"),
        ({"external_id": "B3", "kind": "inpatient", "discharged_on": _day(40)}, "discharged_on"),
        ({"external_id": "B4", "total_cost": "-5"}, "total_cost"),
        ({"external_id": "B5", "insurance_paid": "10", "out_of_pocket": "10"}, "total_cost"),
        ({"external_id": "B6", "started_at": "2999-01-01 08:00"}, "started_at"),
        ({"external_id": "B7", "diagnosis_code": "ABC"}, "diagnosis_code"),
        ({"external_id": "", "total_cost": "10"}, "external_id"),
        ({"external_id": "B9", "kind": "telepathy"}, "kind"),
        ({"external_id": "B10", "started_at": "yesterday"}, "started_at"),
    ]
    base = {"health_record_number": a.health_record_number, "institution_code": "441823101001",
            "kind": "outpatient", "started_at": f"{_day(3)} 15:00", "total_cost": "25"}  # fmt: skip
    return good + [{**base, **change, "_field": field} for change, field in bad]


def _write(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_gbk_file_writes_good_rows_reports_bad_ones_and_reruns_idempotently(tmp_path, residents, county):
    rows = _rows(residents)
    path = _write(tmp_path / "his.csv", rows, "gbk")
    report = encounters_import(read_csv(path), source_system="HIS")
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    expected = {(r["external_id"] or None, r["_field"]) for r in rows if "_field" in r}
    assert {(e.external_id or None, e.field) for e in report.errors} == expected
    assert all(e.line >= 2 and e.message for e in report.errors)
    stay = Encounter.objects.get(external_id="V2")
    assert stay.department is not None and stay.department.code == "NK"
    assert (stay.bed_days, stay.diagnosis_code) == (6, "I63.9")
    outside = Encounter.objects.get(external_id="V3")
    assert outside.institution_id is None and outside.in_county is False and outside.bed_days == 12
    assert Encounter.objects.get(external_id="V1").is_tcm is True
    event = AuditEvent.objects.get(verb="encounter.import")
    assert (event.after or {})["created"] == 3

    again = encounters_import(read_csv(path), source_system="HIS")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Encounter.objects.count() == 3
    assert AuditEvent.objects.filter(verb="encounter.import").count() == 1

    rows[0]["total_cost"] = "40.00"
    changed = encounters_import(read_csv(_write(tmp_path / "his2.csv", rows)), source_system="HIS")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    assert Encounter.objects.get(external_id="V1").out_of_pocket == 20
    other = encounters_import(read_csv(path), source_system="other HIS")
    assert other.created == 3 and Encounter.objects.count() == 6


def test_the_signal_names_every_month_and_institution_written(tmp_path, residents, county):
    received: list[set] = []

    def receiver(sender, **kwargs):
        received.append(kwargs["keys"])

    encounters_changed.connect(receiver)
    try:
        encounters_import(read_csv(_write(tmp_path / "a.csv", _rows(residents))), source_system="HIS")
    finally:
        encounters_changed.disconnect(receiver)
    expected = {
        (e.institution_id, timezone.localtime(e.started_at).date().replace(day=1))
        for e in Encounter.objects.all()
    }
    assert received == [expected]


def test_a_badly_encoded_line_within_the_first_megabyte_refuses_the_file(tmp_path, residents):
    """The encoding is decided on the first megabyte (strictly); past it, a bad line is one bad row."""
    path = _write(tmp_path / "mixed.csv", _rows(residents)[:2])
    with path.open("ab") as handle:
        handle.write("V9,坏".encode()[:-1] + b"\xff\xfe,,\n")
    with pytest.raises(InvalidInput) as caught:
        encounters_import(read_csv(path), source_system="HIS")
    assert caught.value.field == "file"
    assert not Encounter.objects.exists()


def test_unreadable_files_are_refused_before_anything_is_written(tmp_path, residents):
    missing = tmp_path / "missing.csv"
    missing.write_text("external_id,kind\nV1,outpatient\n", encoding="utf-8")
    with pytest.raises(CommandError, match="started_at"):
        call_command("import_encounters", str(missing), "--no-progress", stdout=StringIO())
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(CommandError):
        call_command("import_encounters", str(binary), "--no-progress", stdout=StringIO())
    assert not Encounter.objects.exists()


def test_command_prints_a_summary_and_writes_the_error_report(tmp_path, residents):
    path = _write(tmp_path / "day.csv", _rows(residents))
    errors = tmp_path / "errors.csv"
    out = StringIO()
    call_command("import_encounters", str(path), "--no-progress", f"--errors-out={errors}", stdout=out)
    assert Encounter.objects.filter(source="csv", source_system="day").count() == 3
    text = out.getvalue()
    assert "B4" in text
    with errors.open(encoding="utf-8-sig") as handle:
        reported = list(csv.DictReader(handle))
    assert len(reported) == 10 and {"line", "external_id", "field", "message"} <= set(reported[0])


def test_the_sample_file_reads_without_a_problem():
    read = list(read_csv(SAMPLE))
    rows = [r for r in read if isinstance(r, RawEncounter)]
    assert len(rows) == len(read) >= 12
    assert {r.kind for r in rows} >= {
        "outpatient",
        "emergency",
        "inpatient",
        "home_visit",
        "online",
        "ai_consultation",
    }
