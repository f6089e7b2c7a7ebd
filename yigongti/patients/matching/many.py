"""Registering many entries at one institution in one transaction (a FHIR transaction Bundle).

The decisions are those of ``registration_create`` called for each entry in turn: an entry is
compared with the index as it stands *after* the entries before it, so a later entry links to a
resident an earlier one filed. What changes is the cost: the lookups (registrations already on
file, blocking probes, stored features, ID numbers in use, name frequencies, health-record
numbers) are made once for all entries, the entries filed earlier in the batch are kept in
memory beside them, and the new residents, their name keys, registrations and reviews are
written in bulk at the end. A Bundle of 100 new residents took about 1,500 statements one entry
at a time; here it takes a few dozen.

``tests/test_many.py`` registers random batches (repeated people, shared names, shared and
mistyped ID numbers, repeated local numbers) both ways and compares every decision, resident,
registration and review.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, DomainError
from yigongti.institutions.models import Institution

from ..models import Decision, MatchReview, Patient, Registration, RegistrationSource
from ..services import insert_name_keys
from ..signals import send_changed
from . import engine
from .index import (
    BLOCK_LIMIT,
    FEATURE_FIELDS,
    KEY_COLUMNS,
    ActiveConfig,
    MatchResult,
    active_config,
    key_values,
    probe_rows,
    ranked_candidates,
    registration_features,
    resident_total,
)
from .services import (
    MAX_REVIEWS,
    Clean,
    Entry,
    Registered,
    _explain,
    _fill_golden,
    _registration_row,
    _require_register,
    _same_entry,
    clean_entry,
    first_free_person_number,
    format_health_record_number,
    golden_snapshot,
    new_patient_row,
)

#: Ids handed to residents filed in this batch until they are written (above any real id, in
#: filing order, so that ties between candidates break as they would after the write).
PROVISIONAL = 10**15


class EntryRejected(DomainError):
    """Entry ``index`` of the batch was refused (``error`` says why); nothing was written."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(error.message, field=error.field)
        self.code = error.code
        self.index = index
        self.error = error


@dataclass
class _Index:
    """What the batch knows of the index: probe results and features read once, plus every
    registration filed by an earlier entry of the batch."""

    probes: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    features: dict[int, list[engine.Features]] = field(default_factory=lambda: defaultdict(list))
    added: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))

    def candidates(self, keys: engine.ProbeKeys) -> list[int]:
        """As ``index.candidate_ids``, with the batch's own registrations after the database's."""
        counts: Counter[int] = Counter()
        for pair in key_values(keys):
            counts.update((self.probes.get(pair, []) + self.added.get(pair, []))[:BLOCK_LIMIT])
        return ranked_candidates(counts)

    def add(self, registration: Registration, patient_id: int) -> None:
        for column in KEY_COLUMNS:
            value = getattr(registration, column)
            if value:
                self.added[(column, value)].append(patient_id)
        self.features[patient_id].append(registration_features(registration))


@dataclass
class _Numbers:
    """ID numbers held by residents, and each village's next health-record number, as the batch
    goes (the database's, then the batch's own)."""

    taken: set[str]
    next_person: dict[int, int] = field(default_factory=dict)

    def __contains__(self, number: object) -> bool:
        return number in self.taken

    def health_record_number(self, village: Institution) -> str:
        if village.pk not in self.next_person:  # the village's numbering lock, once
            self.next_person[village.pk] = first_free_person_number(village)
        person = self.next_person[village.pk]
        number = format_health_record_number(village, person)
        self.next_person[village.pk] = person + 1
        return number


@dataclass
class _Filed:
    """One entry's outcome before the write: its registration, resident and what to audit."""

    registration: Registration
    patient: Patient
    decision: str
    created: bool
    pid: int = 0  # the resident's id, provisional until the write for one filed by the batch
    result: MatchResult | None = None
    before: dict[str, Any] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """The batch's view of the index, read once for all its entries and kept up to date as each
    entry is decided."""

    institution: Institution
    source: str
    config: ActiveConfig
    on_file: dict[str, Registration]  # local number -> registration (on file, or filed by the batch)
    index: _Index
    names: Counter[str]  # residents per name, for the name-frequency adjustment
    numbers: _Numbers
    total: int  # residents in the index (``index.resident_total``)
    new: dict[int, Patient] = field(default_factory=dict)  # provisional id -> resident filed now


def _read(cleans: list[Clean], institution: Institution, source: str) -> _Batch:
    """Everything the entries' decisions look up, in a handful of statements."""
    locals_ = [c.entry.local_number for c in cleans if c.entry.local_number]
    on_file = {
        r.local_number: r
        for r in Registration.objects.select_related("patient").filter(
            institution=institution, local_number__in=locals_
        )
    }
    index = _Index(probe_rows({pair for c in cleans for pair in key_values(engine.probe_keys(c.features))}))
    ids = sorted({pid for rows in index.probes.values() for pid in rows})
    for row in Registration.objects.filter(patient_id__in=ids).values(*FEATURE_FIELDS):
        index.features[row["patient_id"]].append(registration_features(row))
    counted = (
        Patient.objects.filter(name__in={c.name for c in cleans}).values_list("name").annotate(n=Count("*"))
    )
    held = Patient.objects.filter(id_number__in={c.id_number for c in cleans if c.id_number})
    numbers = _Numbers({n for n in held.values_list("id_number", flat=True) if n})
    return _Batch(
        institution,
        source,
        active_config(),
        on_file,
        index,
        Counter(dict(counted)),
        numbers,
        resident_total(),
    )


@transaction.atomic
def registrations_create_many(
    *, actor: Any, institution: Institution, entries: list[Entry], source: str = RegistrationSource.API
) -> list[Registered]:
    """Register ``entries`` at ``institution`` as ``registration_create`` would one after the
    other, in one transaction; a refused entry refuses them all (``EntryRejected``)."""
    _require_register(actor, institution)
    cleans = []
    for i, entry in enumerate(entries):
        try:
            cleans.append(clean_entry(entry))
        except DomainError as exc:
            raise EntryRejected(i, exc) from None
    batch = _read(cleans, institution, source)
    filed = []
    for i, clean in enumerate(cleans):
        try:
            filed.append(_one(batch, clean))
        except DomainError as exc:
            raise EntryRejected(i, exc) from None
    _write(filed, batch.new)
    for item in filed:
        if item.created:
            _audit(actor, institution, item)
    return [Registered(f.registration, f.patient, f.decision, created=f.created) for f in filed]


def _one(batch: _Batch, clean: Clean) -> _Filed:
    """One entry, as ``registration_create`` decides it, against the index and the batch so far."""
    local = clean.entry.local_number
    if local and local in batch.on_file:
        existing = batch.on_file[local]
        if not _same_entry(existing, clean):
            raise Conflict(
                _("This local record number is already registered with other details."), field="local_number"
            )
        return _Filed(existing, existing.patient, existing.decision, created=False)
    config = batch.config

    def share(name: str) -> float | None:
        return config.model.name_share(batch.names[name], batch.total) if name else None

    index = batch.index
    stored = [
        (pid, f)
        for pid in index.candidates(engine.probe_keys(clean.features))
        for f in index.features.get(pid, [])
    ]
    ranked = engine.best_per_patient(config.model, clean.features, stored, share)
    result = MatchResult(clean.features, engine.decision_for(config.model, ranked), ranked[:5], config)
    item = _Filed(Registration(), Patient(), result.decision, created=True, result=result)
    new = batch.new
    if result.decision == Decision.LINKED:
        item.pid = result.candidates[0].patient_id
        item.patient = (
            new[item.pid] if item.pid in new else Patient.objects.select_for_update().get(pk=item.pid)
        )
        item.before = golden_snapshot(item.patient)
        item.changed = _fill(item.patient, clean, batch.numbers)
        if item.changed and item.pid not in new:
            item.patient.save()
    else:
        item.pid = PROVISIONAL + len(new)
        item.patient = new[item.pid] = _new_patient(clean, batch.numbers)
        batch.names[clean.name] += 1
    item.registration = _registration_row(
        clean,
        patient=item.patient,
        institution=batch.institution,
        source=batch.source,
        result=result,
        decision=result.decision,
    )
    index.add(item.registration, item.pid)
    if local:
        batch.on_file[local] = item.registration
    return item


def _fill(patient: Patient, clean: Clean, numbers: _Numbers) -> list[str]:
    """Survivorship for a link (``services._fill_golden``), with the batch's numbers."""
    changed = _fill_golden(patient, clean, used=numbers, next_number=numbers.health_record_number)
    if "id_number" in changed and patient.id_number:
        numbers.taken.add(patient.id_number)
    return changed


def _new_patient(clean: Clean, numbers: _Numbers) -> Patient:
    patient = new_patient_row(clean, used=numbers, next_number=numbers.health_record_number)
    if patient.id_number:
        numbers.taken.add(patient.id_number)
    return patient


def _write(filed: list[_Filed], new: dict[int, Patient]) -> None:
    """The batch's new residents, their name keys, registrations and reviews, in bulk."""
    Patient.objects.bulk_create(new.values())
    real = {pid: patient.pk for pid, patient in new.items()}
    insert_name_keys((p.pk, p.name) for p in new.values())
    created = [item for item in filed if item.created]
    for item in created:
        item.registration.patient = item.patient  # now saved: its id
        explanation = _explain(cast(MatchResult, item.result))  # set for every entry filed
        for candidate in explanation["candidates"]:
            candidate["patient_id"] = real.get(candidate["patient_id"], candidate["patient_id"])
        item.registration.explanation = explanation
    try:
        with transaction.atomic():
            Registration.objects.bulk_create([item.registration for item in created])
    except IntegrityError:  # the same local number registered meanwhile by someone else
        raise Conflict(_("This local record number is already registered."), field="local_number") from None
    reviews = []
    for item in created:
        if item.decision != Decision.REVIEW or item.result is None:
            continue
        model = item.result.config.model
        for candidate in item.result.candidates[:MAX_REVIEWS]:
            other = real.get(candidate.patient_id, candidate.patient_id)
            # a resident filed just now has no recorded non-match with anyone
            if candidate.scored.probability >= model.review and other != item.patient.pk:
                reviews.append(
                    MatchReview(
                        registration=item.registration,
                        patient=item.patient,
                        candidate_id=other,
                        probability=candidate.scored.probability,
                        explanation=candidate.scored.explanation(),
                    )
                )
    MatchReview.objects.bulk_create(reviews)
    send_changed({p.village_id for p in new.values()})


def _audit(actor: Any, institution: Institution, item: _Filed) -> None:
    result = cast(MatchResult, item.result)  # set for every entry filed
    audit(
        actor=actor,
        verb="patient.register",
        subject=item.patient,
        institution_id=institution.pk,
        before={k: item.before[k] for k in item.changed if k in item.before} or None,
        after={
            "registration_id": item.registration.pk,
            "local_number": item.registration.local_number,
            "decision": item.decision,
            "probability": item.registration.probability,
            "config_version": result.config.version,
            "changed": item.changed,
        },
    )


__all__ = ["EntryRejected", "registrations_create_many"]
