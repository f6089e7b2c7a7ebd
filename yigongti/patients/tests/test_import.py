"""``import_residents`` and ``train_matcher --from-file``, run as commands against the test database.

Every test drives the real command through ``call_command`` and asserts on the rows it wrote
(Patient, Registration, MatchReview, ImportRun, AuditEvent) and on the links file it produced.
Input files are generated in ``tmp_path``; nothing here reads a data file from the repository.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.core.testing import SmallCounty, build_small_county
from yigongti.patients.matching import batch
from yigongti.patients.matching.engine import LEVELS
from yigongti.patients.models import ImportRun, MatchConfig, MatchReview, Patient, Registration

pytestmark = pytest.mark.django_db

COLUMNS = ("source_id", "name", "sex", "birth_date", "id_number", "phone", "address")
LINKS_HEADER = ["source_id", "patient_id", "decision"]

VILLAGE_ADDRESS = "广东省清远市阳山县阳城镇东山村"

BIRTH = dt.date(1968, 4, 9)
ID = idnumbers.build("441823", BIRTH, 123)  # odd sequence: a man
LEGACY_ID = ID[:6] + ID[8:17]  # the same person's 15-digit number
OTHER_BIRTH = dt.date(1975, 11, 23)
OTHER_ID = idnumbers.build("441823", OTHER_BIRTH, 224)  # even: a woman

Row = tuple[str, str, str, str, str, str, str]

#: One person three times (simplified, traditional, legacy number), and two other people.
PEOPLE: list[Row] = [
    ("A1", "陈志强", "男", "1968-04-09", ID, "13800000001", "阳城镇东山村3号"),
    ("B1", "李秀兰", "女", "1975-11-23", OTHER_ID, "13700000003", ""),
    ("A2", "陳志強", "M", "1968-04-09", ID, "13900000002", ""),
    ("C1", "黄伟明", "M", "1990-01-05", "", "", "阳山县黎埠镇"),
    ("A3", "陈志强", "1", "", LEGACY_ID, "", ""),
]
PEOPLE_DECISIONS = ["new", "new", "linked", "new", "linked"]

GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红"
FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯覃"


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The village address keys and the resident total are cached; no test may see another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def county() -> SmallCounty:
    county = build_small_county()
    county.village.address = VILLAGE_ADDRESS
    county.village.save()
    return county


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], *, encoding: str = "utf-8", header: Sequence[str] = COLUMNS
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def import_residents(path: Path, links: Path, *args: str) -> str:
    """Run the command; its stdout (in English, so that tests can read the summary)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "import_residents", str(path), "--links-out", str(links), "--no-progress", *args, stdout=out
        )
    return out.getvalue()


def read_links(path: Path) -> list[list[str]]:
    """The links file's rows after checking its header."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == LINKS_HEADER
    return rows[1:]


def counts() -> dict[str, int]:
    return {
        "patients": Patient.objects.count(),
        "registrations": Registration.objects.count(),
        "reviews": MatchReview.objects.count(),
        "runs": ImportRun.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def registration(source_id: str) -> Registration:
    return Registration.objects.select_related("patient").get(local_number=source_id)


# --- CSV: new, linked, encodings, institutions -----------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
@pytest.mark.parametrize("chunk", ["5000", "1"])
def test_csv_files_new_residents_and_links_the_same_person(
    county: SmallCounty, tmp_path: Path, encoding: str, chunk: str
) -> None:
    source = write_csv(tmp_path / "residents.csv", PEOPLE, encoding=encoding)
    links = tmp_path / "links.csv"
    audit_before = AuditEvent.objects.count()

    import_residents(source, links, "--chunk", chunk)

    rows = read_links(links)
    assert [r[0] for r in rows] == [p[0] for p in PEOPLE]  # one row per input row, in order
    assert [r[2] for r in rows] == PEOPLE_DECISIONS
    by_source = {sid: int(pid) for sid, pid, _d in rows}
    assert by_source["A2"] == by_source["A1"] == by_source["A3"]
    assert len({by_source["A1"], by_source["B1"], by_source["C1"]}) == 3

    assert Patient.objects.count() == 3
    assert Registration.objects.count() == 5
    for sid, pid in by_source.items():
        reg = registration(sid)
        assert reg.patient_id == pid
        assert reg.institution_id == county.lead.pk  # the default institution
        assert reg.source == "import"
    assert registration("A2").name == "陳志強"  # kept as written (decoded right from GBK too)
    assert registration("A2").explanation["decision"] == "linked"
    assert registration("A3").id_number == ID  # the legacy number upgraded
    assert registration("A3").id_number_entered == LEGACY_ID
    assert registration("A3").birth_date is None

    chen = Patient.objects.get(pk=by_source["A1"])
    assert chen.id_number == ID and chen.name == "陈志强" and chen.sex == "M"
    assert chen.birth_date == BIRTH
    assert chen.phone == "13900000002"  # the newest phone wins, the empty one of A3 does not
    assert chen.village_id == county.village.pk  # "阳城镇东山村3号" names the village
    assert chen.health_record_number == f"{county.village.code}00001"
    assert registration("A1").village_id == county.village.pk
    huang = Patient.objects.get(pk=by_source["C1"])
    assert huang.id_number is None and huang.village_id is None and huang.health_record_number is None
    assert Patient.objects.get(pk=by_source["B1"]).name_keys.exists()  # searchable by name

    run = ImportRun.objects.get()
    assert run.finished_at is not None and run.institution_id == county.lead.pk
    assert run.file_name == "residents.csv"
    assert run.counts == {"new": 3, "linked": 2}
    assert run.rows_done == 6  # the header is line 1
    chunks = AuditEvent.objects.filter(verb="patient.import_chunk")
    assert chunks.count() == (1 if chunk == "5000" else 5)
    assert sum(e.after["registrations"] for e in chunks if e.after) == 5
    done = AuditEvent.objects.get(verb="patient.import")
    assert done.object_id == str(run.pk) and done.after is not None
    assert done.after["rows"] == 5 and done.after["new"] == 3
    assert AuditEvent.objects.count() == audit_before + chunks.count() + 1


def test_gbk_and_utf8_files_give_the_same_decisions(county: SmallCounty, tmp_path: Path) -> None:
    # The same rows from two institutions: the second file (GBK) links every row to the residents
    # the first (UTF-8) filed, read back from the database rather than from the same run.
    utf8 = write_csv(tmp_path / "utf8.csv", PEOPLE)
    gbk = write_csv(tmp_path / "gbk.csv", PEOPLE, encoding="gbk")
    import_residents(utf8, tmp_path / "links1.csv")
    import_residents(gbk, tmp_path / "links2.csv", "--institution", county.township.code)
    first = read_links(tmp_path / "links1.csv")
    second = read_links(tmp_path / "links2.csv")
    assert [r[2] for r in second] == ["linked"] * len(PEOPLE)
    assert [r[1] for r in second] == [r[1] for r in first]
    assert Patient.objects.count() == 3
    assert Registration.objects.filter(institution=county.township).count() == len(PEOPLE)
    assert ImportRun.objects.filter(institution=county.township).count() == 1


def test_an_unknown_institution_or_a_missing_file_is_refused(county: SmallCounty, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "residents.csv", PEOPLE)
    with pytest.raises(CommandError, match="code"):
        import_residents(source, tmp_path / "links.csv", "--institution", "999999999999")
    with pytest.raises(CommandError, match="does not exist"):
        import_residents(tmp_path / "nowhere.csv", tmp_path / "links.csv")
    with pytest.raises(CommandError, match="--chunk"):
        import_residents(source, tmp_path / "links.csv", "--chunk", "0")
    assert Registration.objects.count() == 0 and not (tmp_path / "links.csv").exists()


def test_columns_may_come_in_any_order_with_extra_columns(county: SmallCounty, tmp_path: Path) -> None:
    header = ("Phone", "note", " NAME ", "source_id", "address", "birth_date", "ID_Number", "sex")
    rows = [[p[5], "备注", p[1], p[0], p[6], p[3], p[4], p[2]] for p in PEOPLE]
    source = write_csv(tmp_path / "residents.csv", rows, header=header)
    import_residents(source, tmp_path / "links.csv")
    assert [r[2] for r in read_links(tmp_path / "links.csv")] == PEOPLE_DECISIONS
    first = registration("A1")
    assert (first.name, first.sex, first.birth_date, first.id_number) == ("陈志强", "M", BIRTH, ID)
    assert first.phone == "13800000001" and first.address == "阳城镇东山村3号"


def test_a_short_gbk_file_is_read_as_gbk(county: SmallCounty, tmp_path: Path) -> None:
    rows: list[Row] = [
        ("X1", "王芳", "F", "1980-01-01", "", "", ""),
        ("X2", "张伟", "女", "1981-02-02", "", "", ""),
    ]
    import_residents(write_csv(tmp_path / "residents.csv", rows, encoding="gbk"), tmp_path / "links.csv")
    assert [r[2] for r in read_links(tmp_path / "links.csv")] == ["new", "new"]
    assert sorted(Registration.objects.values_list("name", flat=True)) == sorted(["王芳", "张伟"])


# --- refusals of the whole file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (("source_id", "name", "sex", "birth_date", "id_number", "address"), ["phone"]),
        (("source_id", "name", "sex", "id_number", "phone"), ["birth_date", "address"]),
    ],
)
def test_a_missing_column_refuses_the_file_and_writes_nothing(
    county: SmallCounty, tmp_path: Path, header: tuple[str, ...], missing: list[str]
) -> None:
    source = write_csv(tmp_path / "residents.csv", [header], header=header)  # one data row: the names
    links = tmp_path / "links.csv"
    before = counts()
    with pytest.raises(CommandError) as caught:
        import_residents(source, links)
    for column in missing:
        assert column in str(caught.value)
    assert counts() == before
    assert not links.exists()
    assert not links.with_name("links.csv.part").exists()


def test_a_missing_column_is_named_in_chinese_by_default(county: SmallCounty, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "residents.csv", [], header=COLUMNS[:-1])
    with pytest.raises(CommandError) as caught:
        call_command("import_residents", str(source), "--links-out", str(tmp_path / "l.csv"), "--no-progress")
    assert "address" in str(caught.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(caught.value))  # zh-Hans, the house language


def test_an_empty_file_is_refused(county: SmallCounty, tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    with pytest.raises(CommandError):
        import_residents(source, tmp_path / "links.csv")
    assert ImportRun.objects.count() == 0 and not (tmp_path / "links.csv").exists()


# --- bad rows ------------------------------------------------------------------------------------


def test_bad_rows_are_rejected_with_their_lines_and_never_stop_the_import(
    county: SmallCounty, tmp_path: Path
) -> None:
    future = (timezone.localdate() + dt.timedelta(days=40)).isoformat()
    rows: list[Row] = [
        ("G1", "张伟", "M", "1980-03-05", "", "13800000011", ""),  # line 2
        ("D1", "李娜", "F", "2023-02-30", "", "", ""),  # line 3: no such day
        ("D2", "12345", "F", "1980-01-01", "", "", ""),  # line 4: a name of digits
        ("D3", "王芳", "F", future, "", "", ""),  # line 5: born in the future
        ("D4", "赵敏", "X", "1980-01-01", "", "", ""),  # line 6: no such sex
        ("G1", "张伟", "M", "1980-03-05", "", "13800000011", ""),  # line 7: duplicate source_id
        ("", "刘洋", "M", "1985-05-05", "", "", ""),  # line 8: no source_id
        ("G2", "覃翊珩", "F", "1991-07-15", "", "", ""),  # line 9
    ]
    source = write_csv(tmp_path / "residents.csv", rows)
    links = tmp_path / "links.csv"

    out = import_residents(source, links, "--chunk", "1")

    got = read_links(links)
    assert [r[0] for r in got] == [r[0] for r in rows]
    assert [r[2] for r in got] == ["new"] + ["rejected"] * 6 + ["new"]
    assert all(r[1] == "" for r in got if r[2] == "rejected")
    assert all(r[1].isdigit() for r in got if r[2] == "new")
    for line, source_id in [(3, "D1"), (4, "D2"), (5, "D3"), (6, "D4"), (7, "G1"), (8, "-")]:
        assert f"line {line} {source_id}:" in out
    assert "first on line 2" in out
    assert "line 2 " not in out and "line 9 " not in out
    assert set(Registration.objects.values_list("local_number", flat=True)) == {"G1", "G2"}
    assert Patient.objects.count() == 2
    assert ImportRun.objects.get().counts == {"new": 2, "rejected": 6}


def test_too_many_rejected_rows_are_summarised(county: SmallCounty, tmp_path: Path) -> None:
    rows = [(f"R{i}", "", "X", "", "", "", "") for i in range(60)]
    out = import_residents(write_csv(tmp_path / "bad.csv", rows), tmp_path / "links.csv")
    assert "line 51 R49:" in out and "line 52 R50:" not in out
    assert "10 more rejected rows" in out
    assert [r[2] for r in read_links(tmp_path / "links.csv")] == ["rejected"] * 60
    # nothing was written, so there is no run to resume and no audit row
    assert Registration.objects.count() == 0 and ImportRun.objects.count() == 0


def test_a_line_in_another_encoding_late_in_the_file_is_rejected_alone(
    county: SmallCounty, tmp_path: Path
) -> None:
    # 60 rows of about 20 kB (an ignored "note" column), so that R54 (line 56) lies past the first
    # MiB that the encoding is detected from; its name is written in GBK inside a UTF-8 file.
    rows = [
        (
            f"R{i}",
            f"{FAMILY[i % len(FAMILY)]}{GIVEN[i % len(GIVEN)]}",
            "F",
            f"19{40 + i}-01-01",
            "",
            "",
            "",
            "x" * 20_000,
        )
        for i in range(60)
    ]
    source = write_csv(tmp_path / "residents.csv", rows, header=(*COLUMNS, "note"))
    lines = source.read_bytes().split(b"\n")
    bad = 56  # R54
    name = rows[bad - 2][1]
    lines[bad - 1] = lines[bad - 1].replace(name.encode(), name.encode("gbk"))
    source.write_bytes(b"\n".join(lines))
    assert source.stat().st_size > 1 << 20

    out = import_residents(source, tmp_path / "links.csv")

    got = read_links(tmp_path / "links.csv")
    assert len(got) == 60  # one row per input row
    assert f"line {bad} " in out
    assert [r[0] for r in got if r[2] == "rejected"] in (["R54"], [""])
    assert Registration.objects.count() == 59


@pytest.mark.parametrize(
    ("entered", "problem"),
    [
        (ID[:17] + ("0" if ID[17] != "0" else "1"), "check"),  # right shape, wrong check character
        ("44182319680409", "format"),  # not an ID number at all
    ],
)
def test_a_doubtful_id_number_is_kept_as_entered_and_never_trusted(
    county: SmallCounty, tmp_path: Path, entered: str, problem: str
) -> None:
    rows: list[Row] = [("K1", "覃翊珩", "F", "1968-04-09", entered, "13700000007", "")]
    import_residents(write_csv(tmp_path / "residents.csv", rows), tmp_path / "links.csv")
    assert read_links(tmp_path / "links.csv")[0][2] == "new"
    reg = registration("K1")
    assert reg.id_problem == problem
    assert reg.id_number == ""
    assert reg.id_number_entered == entered
    assert reg.patient.id_number is None


# --- re-runs and resuming ------------------------------------------------------------------------


def test_running_the_same_file_again_changes_nothing(county: SmallCounty, tmp_path: Path) -> None:
    rows = [*PEOPLE, ("D1", "李娜", "F", "2023-02-30", "", "", "")]
    source = write_csv(tmp_path / "residents.csv", rows)
    import_residents(source, tmp_path / "links1.csv", "--chunk", "2")
    before = counts()
    patients = list(Patient.objects.order_by("pk").values())

    out = import_residents(source, tmp_path / "links2.csv", "--chunk", "2")

    assert (tmp_path / "links2.csv").read_bytes() == (tmp_path / "links1.csv").read_bytes()
    assert counts() == before  # no registration, resident, review, run or audit row
    assert list(Patient.objects.order_by("pk").values()) == patients
    assert "5 already imported" in out
    assert "Resumed" not in out


def test_a_source_id_imported_before_with_other_details_is_rejected(
    county: SmallCounty, tmp_path: Path
) -> None:
    import_residents(write_csv(tmp_path / "first.csv", PEOPLE), tmp_path / "links1.csv")
    changed = [PEOPLE[0], ("B1", "李秀兰", "女", "1975-11-23", OTHER_ID, "13700000999", "")]
    before = counts()
    out = import_residents(write_csv(tmp_path / "second.csv", changed), tmp_path / "links2.csv")
    got = read_links(tmp_path / "links2.csv")
    assert [r[2] for r in got] == ["new", "rejected"]  # A1 unchanged, reported as decided then
    assert got[0][1] == read_links(tmp_path / "links1.csv")[0][1] and got[1][1] == ""
    assert "line 3 B1:" in out
    assert counts() == before
    assert Registration.objects.get(local_number="B1").phone == "13700000003"


def _resume_rows() -> list[Row]:
    rows: list[Row] = []
    for i in range(7):
        birth = dt.date(1950 + i, 1 + i, 10 + i)
        rows.append((f"S{i}", f"测试{'甲乙丙丁戊己庚'[i]}", "F", birth.isoformat(), "", f"1360000000{i}", ""))
    rows.insert(3, ("BAD", "12345", "F", "1980-01-01", "", "", ""))  # rejected: never a registration
    rows.append(("S0b", "测试甲", "F", "1950-01-10", "", "13600000000", ""))  # the same as S0
    return rows


@pytest.mark.django_db(transaction=True)  # each chunk really commits, as in production
def test_an_interrupted_import_resumes_and_writes_every_row_once(
    county: SmallCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _resume_rows()
    source = write_csv(tmp_path / "residents.csv", rows)
    links = tmp_path / "links.csv"
    original = batch._Writer.write
    calls = {"n": 0}

    def interrupted(self: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            original(self)  # the 2nd chunk is written to its end, then rolled back
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(batch._Writer, "write", interrupted)
    with pytest.raises(CommandError, match="resume"):
        import_residents(source, links, "--chunk", "2")
    monkeypatch.undo()

    assert calls["n"] == 2
    assert sorted(Registration.objects.values_list("local_number", flat=True)) == ["S0", "S1"]
    assert Patient.objects.count() == 2
    run = ImportRun.objects.get()
    assert run.finished_at is None
    assert run.rows_done == 3  # S0 and S1 are on lines 2 and 3
    assert AuditEvent.objects.filter(verb="patient.import_chunk").count() == 1
    assert not AuditEvent.objects.filter(verb="patient.import").exists()
    assert not links.exists()  # only a finished import replaces the links file

    out = import_residents(source, links, "--chunk", "2")

    assert "Resumed after line 3." in out
    got = read_links(links)
    assert [r[0] for r in got] == [r[0] for r in rows]
    decisions = {r[0]: r[2] for r in got}
    assert decisions.pop("BAD") == "rejected" and decisions.pop("S0b") == "linked"
    assert set(decisions.values()) == {"new"}
    ids = {r[0]: r[1] for r in got}
    assert ids["S0b"] == ids["S0"]
    local_numbers = list(Registration.objects.values_list("local_number", flat=True))
    assert sorted(local_numbers) == sorted(r[0] for r in rows if r[0] != "BAD")  # each exactly once
    assert Patient.objects.count() == 7
    run.refresh_from_db()
    assert run.finished_at is not None and ImportRun.objects.count() == 1
    assert run.rows_done == len(rows) + 1
    assert AuditEvent.objects.filter(verb="patient.import_chunk").count() == 4
    assert AuditEvent.objects.filter(verb="patient.import").count() == 1

    before = counts()
    import_residents(source, tmp_path / "again.csv", "--chunk", "2")
    assert (tmp_path / "again.csv").read_bytes() == links.read_bytes()
    assert counts() == before


def test_an_import_interrupted_before_its_first_chunk_resumes_from_the_start(
    county: SmallCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _resume_rows()
    source = write_csv(tmp_path / "residents.csv", rows)

    def interrupted(self: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch._Writer, "write", interrupted)
    with pytest.raises(CommandError):
        import_residents(source, tmp_path / "links.csv", "--chunk", "3")
    monkeypatch.undo()
    assert Registration.objects.count() == 0

    import_residents(source, tmp_path / "links.csv", "--chunk", "3")
    assert Registration.objects.count() == len(rows) - 1
    assert len(read_links(tmp_path / "links.csv")) == len(rows)
    assert ImportRun.objects.filter(finished_at__isnull=False).count() == 1
    assert ImportRun.objects.filter(finished_at__isnull=True).count() == 0


def test_a_resumed_run_counts_the_whole_file(
    county: SmallCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "residents.csv", _resume_rows())
    original = batch._Writer.write

    def interrupted(self: Any) -> None:
        if AuditEvent.objects.filter(verb="patient.import_chunk").exists():
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(batch._Writer, "write", interrupted)
    with pytest.raises(CommandError):
        import_residents(source, tmp_path / "links.csv", "--chunk", "2")
    monkeypatch.undo()
    import_residents(source, tmp_path / "links.csv", "--chunk", "2")

    expected = {"new": 7, "linked": 1, "rejected": 1}
    done = AuditEvent.objects.get(verb="patient.import")
    assert done.after is not None and {k: done.after.get(k) for k in expected} == expected
    assert ImportRun.objects.get().counts == expected


# --- FHIR ----------------------------------------------------------------------------------------


def _fhir_patients() -> list[Any]:
    return [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"text": "陈志强"}],
            "gender": "male",
            "birthDate": "1968-04-09",
            "identifier": [
                {"system": "urn:oid:2.16.156.10011.1.4", "value": "MRN-0001"},
                {"system": "urn:oid:2.16.156.10011.1.5", "value": ID},
            ],
            "telecom": [{"system": "email", "value": "a@b.cn"}, {"system": "phone", "value": "13800000001"}],
            "address": [{"text": "阳城镇东山村3号"}],
        },
        {
            "resourceType": "Patient",
            "id": "p2",
            "name": [{"family": "陳", "given": ["志強"]}],
            "gender": "male",
            "birthDate": "1968-04-09",
            "identifier": [{"type": {"coding": [{"code": "NNCHN"}]}, "value": LEGACY_ID}],
        },
        {"resourceType": "Observation", "id": "o1", "status": "final"},
        {
            "resourceType": "Patient",
            "id": "p3",
            "name": [{"family": "李", "given": ["秀", "兰"]}],
            "gender": "female",
            "birthDate": "1975-11-23",
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.5", "value": OTHER_ID}],
            "telecom": [{"system": "phone", "value": "13700000003"}],
            "address": [{"text": VILLAGE_ADDRESS + "8号"}],
        },
        {"resourceType": "Patient", "id": "p4", "name": [{"text": "无名"}], "gender": "unknown-ish"},
    ]


def _assert_fhir_imported(county: SmallCounty, got: list[list[str]]) -> None:
    assert [r[0] for r in got] == ["p1", "p2", "", "p3", "p4"]
    assert [r[2] for r in got] == ["new", "linked", "rejected", "new", "rejected"]
    assert got[0][1] == got[1][1] != got[3][1]
    assert got[2][1] == got[4][1] == ""
    first = registration("p1")
    assert (first.name, first.sex, first.birth_date, first.id_number) == ("陈志强", "M", BIRTH, ID)
    assert first.phone == "13800000001" and first.address == "阳城镇东山村3号"
    assert first.village_id == county.village.pk
    second = registration("p2")
    assert second.name == "陳志強" and second.id_number == ID and second.id_number_entered == LEGACY_ID
    third = registration("p3")
    assert (third.name, third.sex, third.id_number) == ("李秀兰", "F", OTHER_ID)
    assert third.village_id == county.village.pk
    assert Patient.objects.count() == 2


def test_fhir_ndjson_is_imported_like_csv(county: SmallCounty, tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in _fhir_patients()]
    lines.insert(4, "")  # blank lines are skipped
    lines.insert(3, "{this is not json")
    source = tmp_path / "patients.ndjson"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = import_residents(source, tmp_path / "links.csv")

    got = read_links(tmp_path / "links.csv")
    assert [r[2] for r in got].count("rejected") == 3
    not_json = got.pop(3)
    assert not_json == ["", "", "rejected"]
    _assert_fhir_imported(county, got)
    assert "line 3 -: Not a FHIR Patient resource." in out
    assert "line 4 -: The line is not valid JSON." in out
    assert "line 7 p4:" in out  # gender "unknown-ish" is no sex (line 6 is blank)


@pytest.mark.parametrize("indent", [None, 2])
def test_a_fhir_bundle_is_imported_like_csv(county: SmallCounty, tmp_path: Path, indent: int | None) -> None:
    entries: list[Any] = [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(_fhir_patients())]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps(bundle, ensure_ascii=False, indent=indent), encoding="utf-8")

    out = import_residents(source, tmp_path / "links.csv")

    _assert_fhir_imported(county, read_links(tmp_path / "links.csv"))
    assert "line 3 -: Not a FHIR Patient resource." in out  # the entry's number in the Bundle


def test_a_json_file_that_is_not_a_bundle_is_refused(county: SmallCounty, tmp_path: Path) -> None:
    source = tmp_path / "obs.json"
    source.write_text(json.dumps({"resourceType": "Observation"}, indent=2), encoding="utf-8")
    with pytest.raises(CommandError, match="Bundle"):
        import_residents(source, tmp_path / "links.csv")
    assert ImportRun.objects.count() == 0 and not (tmp_path / "links.csv").exists()


# --- matching decisions --------------------------------------------------------------------------


def test_a_swapped_birth_day_and_month_goes_to_review(county: SmallCounty, tmp_path: Path) -> None:
    rows: list[Row] = [
        ("R1", "覃翊珩", "F", "1980-03-05", "", "", ""),
        ("R2", "覃翊珩", "F", "1980-05-03", "", "", ""),
    ]
    import_residents(write_csv(tmp_path / "residents.csv", rows), tmp_path / "links.csv")
    got = read_links(tmp_path / "links.csv")
    assert [r[2] for r in got] == ["new", "review"]
    assert got[0][1] != got[1][1]  # the review files its own resident, so that care goes on
    second = registration("R2")
    review = MatchReview.objects.get()
    assert review.registration_id == second.pk
    assert review.patient_id == int(got[1][1]) and review.candidate_id == int(got[0][1])
    assert review.status == "open"
    assert second.config is None or review.probability < second.config.link_threshold
    levels = {f["field"]: f["level"] for f in review.explanation["fields"]}
    assert levels["birth_date"] == "swap" and levels["name"] == "exact"
    assert second.probability == review.probability


@pytest.mark.parametrize("with_ids", [True, False])
def test_twins_are_never_linked(county: SmallCounty, tmp_path: Path, with_ids: bool) -> None:
    born = dt.date(2015, 6, 1)
    first_id = idnumbers.build("441823", born, 13) if with_ids else ""
    second_id = idnumbers.build("441823", born, 15) if with_ids else ""
    home = VILLAGE_ADDRESS + "12号"
    rows: list[Row] = [
        ("T1", "李明轩", "M", born.isoformat(), first_id, "13500000005", home),
        ("T2", "李明哲", "M", born.isoformat(), second_id, "13500000005", home),
    ]
    import_residents(write_csv(tmp_path / "residents.csv", rows), tmp_path / "links.csv")
    got = read_links(tmp_path / "links.csv")
    assert got[1][2] != "linked"
    assert got[0][1] != got[1][1]
    assert Patient.objects.count() == 2


# --- training from a file ------------------------------------------------------------------------

TRADITIONAL = str.maketrans(
    "张刘陈杨黄赵吴孙马罗郑谢韩冯伟丽强军杰涛兰刚华红", "張劉陳楊黃趙吳孫馬羅鄭謝韓馮偉麗強軍傑濤蘭剛華紅"
)


def _again(rnd: random.Random, row: Row) -> Row:
    """Another institution's registration of the same person, with the usual clerical differences."""
    source_id, name, sex, birth, number, phone, address = row
    if rnd.random() < 0.3:
        name = name.translate(TRADITIONAL)
    born = dt.date.fromisoformat(birth)
    pick = rnd.random()
    if pick < 0.08 and born.day <= 12:
        birth = f"{born:%Y-%d-%m}"  # day and month swapped
    elif pick < 0.15:
        birth = (born + dt.timedelta(days=1)).isoformat()
    elif pick < 0.25:
        birth = ""
    pick = rnd.random()
    if number and pick < 0.1:
        typo = str((int(number[5]) + 1) % 10)
        number = number[:5] + typo + number[6:]  # one wrong digit: the check character fails
    elif pick < 0.4:
        number = ""
    pick = rnd.random()
    if phone and pick < 0.2:
        phone = f"15{rnd.randrange(10**9):09d}"  # a new phone
    elif pick < 0.5:
        phone = ""
    return (source_id + "b", name, sex, birth, number, phone, address if rnd.random() < 0.7 else "")


def _training_rows(people: int, seed: int = 7) -> list[Row]:
    """``people`` residents, a third of them registered a second time (see ``_again``)."""
    rnd = random.Random(seed)
    rows: list[Row] = []
    for i in range(people):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randrange(25000))
        sex = rnd.choice("MF")
        number = idnumbers.build("441823", born, rnd.randrange(0, 500) * 2 + (1 if sex == "M" else 0))
        name = rnd.choice(FAMILY) + rnd.choice(GIVEN) + rnd.choice(["", *GIVEN])
        phone = f"13{rnd.randrange(10**9):09d}" if rnd.random() < 0.7 else ""
        address = VILLAGE_ADDRESS if rnd.random() < 0.3 else ""
        row = (f"P{i}", name, sex, born.isoformat(), number if rnd.random() < 0.8 else "", phone, address)
        rows.append(row)
        if i % 3 == 0:
            rows.append(_again(rnd, row))
    return rows


def test_train_matcher_from_a_file_stores_a_version_the_next_import_uses(
    county: SmallCounty, tmp_path: Path
) -> None:
    training = write_csv(tmp_path / "training.csv", _training_rows(300))
    out = io.StringIO()
    call_command("train_matcher", "--from-file", str(training), stdout=out)

    config = MatchConfig.objects.get()
    assert config.version == 1
    assert config.trained_on >= 200
    fields = config.parameters["fields"]
    assert set(fields) == set(LEVELS)
    for field, levels in LEVELS.items():
        assert set(fields[field]) == set(levels), field
        for values in fields[field].values():
            assert 0 < values["m"] < 1 and 0 < values["u"] < 1
    assert 0 < config.parameters["prior"] < 1
    assert "Matcher v1" in out.getvalue()
    assert AuditEvent.objects.filter(verb="patient.matcher_train", object_id=str(config.pk)).count() == 1
    assert Registration.objects.count() == 0  # training reads the file; it imports nothing

    import_residents(write_csv(tmp_path / "residents.csv", PEOPLE), tmp_path / "links.csv")
    assert [r[2] for r in read_links(tmp_path / "links.csv")] == PEOPLE_DECISIONS
    assert set(Registration.objects.values_list("config_id", flat=True)) == {config.pk}
    assert registration("A2").explanation["config_version"] == 1


def test_train_matcher_refuses_a_file_with_too_few_rows(county: SmallCounty, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("train_matcher", "--from-file", str(write_csv(tmp_path / "few.csv", PEOPLE)))
    assert MatchConfig.objects.count() == 0


@pytest.mark.parametrize("chunk", ["5000", "1"])
def test_the_explanation_names_the_candidate_filed_earlier_in_the_same_chunk(
    county: SmallCounty, tmp_path: Path, chunk: str
) -> None:
    links = tmp_path / "links.csv"
    import_residents(write_csv(tmp_path / "in.csv", PEOPLE), links, "--chunk", chunk)
    first = registration("A1")
    for source_id in ("A2", "A3"):
        explained = registration(source_id).explanation
        assert explained["candidates"][0]["patient_id"] == first.patient_id
    assert registration("A2").explanation["decision"] == "linked"


def test_a_second_process_cleaning_the_rows_gives_the_same_links(county: SmallCounty, tmp_path: Path) -> None:
    rows = [*PEOPLE, ("X1", "12345", "M", "1990-01-01", "", "", ""), ("A1", "陈志强", "男", "", "", "", "")]
    source = write_csv(tmp_path / "in.csv", rows)
    import_residents(source, tmp_path / "inline.csv", "--parallel", "no")
    inline = read_links(tmp_path / "inline.csv")
    Registration.objects.exclude(source="filing").delete()
    Patient.objects.filter(registrations__isnull=True).delete()
    ImportRun.objects.all().delete()
    import_residents(source, tmp_path / "forked.csv", "--parallel", "yes")
    forked = read_links(tmp_path / "forked.csv")
    assert [(r[0], r[2]) for r in forked] == [(r[0], r[2]) for r in inline]
    assert [r[2] for r in forked][-2:] == ["rejected", "rejected"]  # a name of digits; a duplicate source_id
    assert Registration.objects.filter(source="import").count() == len(PEOPLE)
