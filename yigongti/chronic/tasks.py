"""Worklist generation from ``rules.RULESET``: one patient at a time (on each record, inside the
recording transaction) and the whole county from scratch (``rebuild``, set-based).

Both paths produce the same open tasks for the same records; a test checks it after random
follow-ups, and ``bench/worklists.py`` times both beside the naive per-patient loop
(``rebuild_naive``), which calls the one-patient function for every candidate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from yigongti.patients.models import Patient

from . import bulk, rules
from .choices import REGISTRIES, Programme, TaskStatus
from .models import ElderlyService, Enrollment, FollowUp, Screening, Task

BATCH = 5000


@dataclass(frozen=True)
class Want:
    """The open task a patient should have in one programme."""

    patient_id: int
    village_id: int
    programme: str
    outcome: str
    due_on: dt.date
    priority: str

    def key(self) -> tuple[int, str, str, dt.date, str]:
        return (self.patient_id, self.programme, self.outcome, self.due_on, self.priority)


def _want(patient_id: int, village_id: int, programme: str, start: dt.date, outcome: str) -> Want:
    due, priority = rules.next_task(programme, start, outcome)
    return Want(patient_id, village_id, programme, outcome, due, priority)


def elderly_start(born: dt.date, today: dt.date) -> dt.date:
    """A resident never served is due from her 65th birthday, at the earliest this year's start
    (a backlog from years before is one task, not many)."""
    return max(
        rules.birthday(born, rules.RULESET["programmes"][Programme.ELDERLY]["min_age"]),
        today.replace(month=1, day=1),
    )


def _elderly_cutoff(today: dt.date) -> dt.date:
    """Born on or before this date: 65 or over today."""
    return rules.birthday(today, -65)


# --- one patient (incremental) ----------------------------------------------------------------


def want_for(patient: Patient, programme: str, today: dt.date) -> Want | None:
    """The open task one patient should have in one programme now (per-patient queries)."""
    village_id = patient.village_id
    if village_id is None:
        return None
    if programme in REGISTRIES:
        entry = Enrollment.objects.filter(patient=patient, programme=programme, is_active=True).first()
        if entry is None:
            return None
        last = FollowUp.objects.filter(enrollment=entry).order_by("-visit_date", "-id").first()
        if last is None:
            return _want(patient.pk, village_id, programme, entry.enrolled_on, rules.NONE)
        return _want(patient.pk, village_id, programme, last.visit_date, last.classification)
    if programme == Programme.ELDERLY:
        born = patient.birth_date
        if born is None or patient.merged_into_id or born > _elderly_cutoff(today):
            return None
        service = ElderlyService.objects.filter(patient=patient).order_by("-service_date", "-id").first()
        if service is None:
            return _want(patient.pk, village_id, programme, elderly_start(born, today), rules.NONE)
        return _want(patient.pk, village_id, programme, service.service_date, rules.ANY)
    # screening: screened residents outside the hypertension registry
    if Enrollment.objects.filter(patient=patient, programme=Programme.HYPERTENSION, is_active=True).exists():
        return None
    screening = Screening.objects.filter(patient=patient).order_by("-screened_on", "-id").first()
    if screening is None:
        return None
    outcome = rules.HIGH_RISK if screening.high_risk else rules.ANY
    return _want(patient.pk, village_id, programme, screening.screened_on, outcome)


def refresh(
    patient: Patient, programme: str, *, today: dt.date, done_on: dt.date | None = None
) -> Task | None:
    """Close the patient's open task in ``programme`` (done on ``done_on`` when a record resolved
    it) and open the one the rules want now. Runs inside the recording service's transaction."""
    want = want_for(patient, programme, today)
    current = (
        Task.objects.select_for_update()
        .filter(patient=patient, programme=programme, status=TaskStatus.OPEN)
        .first()
    )
    if current is not None:
        same = want is not None and (current.outcome, current.due_on, current.priority) == (
            want.outcome,
            want.due_on,
            want.priority,
        )
        if same and done_on is None:
            return current
        current.status = TaskStatus.DONE if done_on is not None else TaskStatus.CANCELLED
        current.done_on = done_on
        current.save(update_fields=["status", "done_on", "updated_at"])
    if want is None:
        return None
    return Task.objects.create(
        patient_id=want.patient_id,
        village_id=want.village_id,
        programme=want.programme,
        outcome=want.outcome,
        due_on=want.due_on,
        priority=want.priority,
        rule_version=rules.VERSION,
    )


def open_new_elderly(since: dt.date, today: dt.date) -> int:
    """Residents who turned 65 after ``since``: open their first elderly task. An indexed range
    on the birth date (a day's birthdays), run daily; not a scan of the county."""
    born = Patient.objects.filter(
        birth_date__gt=_elderly_cutoff(since),
        birth_date__lte=_elderly_cutoff(today),
        village__isnull=False,
        merged_into__isnull=True,
    )
    count = 0
    for patient in born.iterator(chunk_size=BATCH):
        if refresh(patient, Programme.ELDERLY, today=today) is not None:
            count += 1
    return count


# --- the whole county (from scratch) ----------------------------------------------------------


def _registry_wants(programme: str) -> Iterator[Want]:
    latest = FollowUp.objects.filter(enrollment=OuterRef("pk")).order_by("-visit_date", "-id")
    rows = (
        Enrollment.objects.filter(programme=programme, is_active=True)
        .annotate(
            last_date=Subquery(latest.values("visit_date")[:1]),
            last_class=Subquery(latest.values("classification")[:1]),
        )
        .values_list("patient_id", "village_id", "enrolled_on", "last_date", "last_class")
    )
    for patient_id, village_id, enrolled_on, last_date, last_class in rows.iterator(chunk_size=BATCH):
        if last_date is None:
            yield _want(patient_id, village_id, programme, enrolled_on, rules.NONE)
        else:
            yield _want(patient_id, village_id, programme, last_date, last_class)


def _elderly_wants(today: dt.date) -> Iterator[Want]:
    latest = ElderlyService.objects.filter(patient=OuterRef("pk")).order_by("-service_date", "-id")
    rows = (
        Patient.objects.filter(
            birth_date__lte=_elderly_cutoff(today), village__isnull=False, merged_into__isnull=True
        )
        .annotate(last_date=Subquery(latest.values("service_date")[:1]))
        .values_list("pk", "village_id", "birth_date", "last_date")
    )
    for patient_id, village_id, born, last_date in rows.iterator(chunk_size=BATCH):
        if last_date is None and born is not None:
            yield _want(patient_id, village_id, Programme.ELDERLY, elderly_start(born, today), rules.NONE)
        else:
            yield _want(patient_id, village_id, Programme.ELDERLY, last_date, rules.ANY)


def _screening_wants() -> Iterator[Want]:
    latest = Screening.objects.filter(patient=OuterRef("pk")).order_by("-screened_on", "-id")
    registered = Enrollment.objects.filter(programme=Programme.HYPERTENSION, is_active=True).values(
        "patient_id"
    )
    rows = (
        Patient.objects.filter(pk__in=Screening.objects.values("patient_id"), village__isnull=False)
        .exclude(pk__in=registered)
        .annotate(
            last_date=Subquery(latest.values("screened_on")[:1]),
            high=Subquery(latest.values("high_risk")[:1]),
        )
        .values_list("pk", "village_id", "last_date", "high")
    )
    for patient_id, village_id, last_date, high in rows.iterator(chunk_size=BATCH):
        outcome = rules.HIGH_RISK if high else rules.ANY
        yield _want(patient_id, village_id, Programme.SCREENING, last_date, outcome)


def wants_all(today: dt.date) -> Iterator[Want]:
    for programme in REGISTRIES:
        yield from _registry_wants(programme)
    yield from _elderly_wants(today)
    yield from _screening_wants()


def _insert(wants: Iterable[Want]) -> int:
    """Set-based: COPY / executemany of plain rows (``bulk.insert``), not model instances."""
    return bulk.insert(
        Task,
        (
            {
                "patient_id": w.patient_id,
                "village_id": w.village_id,
                "programme": w.programme,
                "outcome": w.outcome,
                "due_on": w.due_on,
                "priority": w.priority,
                "status": TaskStatus.OPEN,
                "rule_version": rules.VERSION,
            }
            for w in wants
        ),
    )


@transaction.atomic
def rebuild(today: dt.date) -> int:
    """Every open task from scratch: drop the open ones, one grouped query per programme, bulk
    insert. Done and cancelled tasks (the history of the worklist) stay."""
    Task.objects.filter(status=TaskStatus.OPEN).delete()
    return _insert(wants_all(today))


def naive_candidates(today: dt.date) -> Iterator[tuple[Patient, str]]:
    """Every (patient, programme) the naive loop visits, one patient at a time."""
    seen: set[tuple[int, str]] = set()
    for entry in (
        Enrollment.objects.filter(is_active=True).select_related("patient").iterator(chunk_size=BATCH)
    ):
        seen.add((entry.patient_id, entry.programme))
        yield entry.patient, entry.programme
    elderly = Patient.objects.filter(
        birth_date__lte=_elderly_cutoff(today), village__isnull=False, merged_into__isnull=True
    )
    for patient in elderly.iterator(chunk_size=BATCH):
        yield patient, Programme.ELDERLY
    for patient in Patient.objects.filter(pk__in=Screening.objects.values("patient_id")).iterator(
        chunk_size=BATCH
    ):
        yield patient, Programme.SCREENING


@transaction.atomic
def rebuild_naive(today: dt.date) -> int:
    """The reference: the per-patient rule applied in a Python loop, one patient after another."""
    Task.objects.filter(status=TaskStatus.OPEN).delete()
    return _insert(w for p, prog in naive_candidates(today) if (w := want_for(p, prog, today)) is not None)


def open_keys() -> set[tuple[int, str, str, dt.date, str]]:
    return {
        (p, prog, out, due, prio)
        for p, prog, out, due, prio in Task.objects.filter(status=TaskStatus.OPEN).values_list(
            "patient_id", "programme", "outcome", "due_on", "priority"
        )
    }


def open_filter() -> Q:
    return Q(status=TaskStatus.OPEN)
