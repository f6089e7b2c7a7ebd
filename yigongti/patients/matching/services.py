"""Writes of the master patient index: register or link, review decisions, merge and unmerge.

A registration is scored against the index (``index.match``) and then, in the same
transaction: linked to the best resident (above the upper threshold), filed as a new resident
with a review per candidate in the band (between the thresholds), or filed as a new resident
(below). Every write is audited; every registration keeps its decision, probability, the
configuration version and the explanation (each field's level and weight).

Review decisions, merges and unmerges are in ``merging``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution

from ..models import (
    Decision,
    IdProblem,
    MatchReview,
    NonMatch,
    Patient,
    Registration,
    RegistrationSource,
)
from ..services import patient_name_keys_write
from . import engine
from .index import (
    FEATURE_FIELDS,
    ActiveConfig,
    MatchResult,
    active_config,
    candidate_ids,
    match,
    name_count,
    registration_features,
    resident_total,
)

#: Candidates in the review band that get a review each (the best ones).
MAX_REVIEWS = 3

NAME_MAX = 40
EARLIEST_BIRTH = dt.date(1880, 1, 1)


@dataclass(frozen=True)
class Entry:
    """A registration as entered, before validation."""

    name: str
    sex: str = ""
    birth_date: dt.date | None = None
    id_number: str = ""
    phone: str = ""
    address: str = ""
    village_code: str = ""
    local_number: str = ""
    health_card_number: str = ""
    insurance_number: str = ""


@dataclass(frozen=True)
class Clean:
    """A validated entry: what is stored and what is compared."""

    entry: Entry
    name: str
    sex: str
    id_number: str  # trusted (valid) 18-character number or ''
    id_problem: str
    village: Institution | None
    features: engine.Features


SEX_WORDS = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F", "2": "F"}


def clean_sex(raw: str) -> str:
    value = (raw or "").strip()
    if not value:
        return ""
    sex = SEX_WORDS.get(value.lower())
    if sex is None:
        raise InvalidInput(_("Sex must be male or female."), field="sex")
    return sex


def clean_name(raw: str) -> str:
    name = "".join((raw or "").split())
    if not name:
        raise InvalidInput(_("Enter the resident's name."), field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(_("The name is too long."), field="name")
    if not any(ch.isalpha() for ch in name):
        raise InvalidInput(_("A name must contain letters or Chinese characters."), field="name")
    return name


def clean_birth_date(value: dt.date | None, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    if value > today or value < EARLIEST_BIRTH:
        raise InvalidInput(_("The birth date is impossible."), field="birth_date")
    return value


VILLAGE_CACHE_SECONDS = 300
VILLAGE_KEYS_CACHE = "ygt:mpi:village_keys"


def _village_keys() -> list[tuple[str, int]]:
    """(address text, village clinic id), longest first: the county address and the
    township + village part of it, so that "城关镇东风村3组" finds 东风村 of 城关镇."""
    keys = cache.get(VILLAGE_KEYS_CACHE)
    if keys is None:
        found: dict[str, int] = {}
        for pk, address in Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC).values_list(
            "pk", "address"
        ):
            if not address:
                continue
            found[address] = pk
            for marker in ("县", "市", "区"):
                cut = address.rfind(marker)
                if 0 <= cut < len(address) - 3:
                    found.setdefault(address[cut + 1 :], pk)
                    break
        keys = sorted(found.items(), key=lambda kv: -len(kv[0]))
        cache.set(VILLAGE_KEYS_CACHE, keys, VILLAGE_CACHE_SECONDS)
    return keys


def village_from_address(address: str, keys: list[tuple[str, int]] | None = None) -> int | None:
    """The village clinic whose settlement the address names (the longest name that fits).

    ``keys`` is ``_village_keys()``; the batch importer passes it once instead of reading the
    cache for every row."""
    text = "".join((address or "").split())
    if not text:
        return None
    for key, pk in keys if keys is not None else _village_keys():
        if key in text:
            return pk
    return None


def village_keys() -> list[tuple[str, int]]:
    return _village_keys()


def forget_village_keys() -> None:
    """Called when an institution is saved or deleted (``patients.apps``)."""
    cache.delete(VILLAGE_KEYS_CACHE)


def clean_entry(entry: Entry, *, today: dt.date | None = None) -> Clean:
    """Validate an entry; a wrong check character is flagged, not refused (see engine)."""
    today = today or timezone.localdate()
    name = clean_name(entry.name)
    sex = clean_sex(entry.sex)
    birth = clean_birth_date(entry.birth_date, today)
    number, problem = engine.normalise_id(entry.id_number)
    if len((entry.id_number or "").strip()) > 32:
        raise InvalidInput(_("An ID number has 18 characters (or 15 for old numbers)."), field="id_number")
    village: Institution | None = None
    if entry.village_code:
        village = Institution.objects.filter(
            code=entry.village_code, kind=InstitutionKind.VILLAGE_CLINIC
        ).first()
        if village is None:
            raise InvalidInput(_("No village clinic has this code."), field="village_code")
    else:
        pk = village_from_address(entry.address)
        if pk is not None:  # (the cached list may name a clinic removed since: then no village)
            village = Institution.objects.filter(pk=pk, kind=InstitutionKind.VILLAGE_CLINIC).first()
    f = engine.features(
        name=name,
        sex=sex,
        birth_date=birth,
        id_number=number,
        phone=entry.phone,
        village=village.code if village else "",
    )
    if f.birth_date is not None and f.birth_date > today:
        raise InvalidInput(_("The birth date in the ID number is out of range."), field="id_number")
    return Clean(
        entry=entry,
        name=name,
        sex=sex,
        id_number=number if not problem else "",
        id_problem=problem,
        village=village,
        features=f,
    )


#: The first key of the per-village numbering lock (the village's id is the second).
_NUMBERING_LOCK = 7_744_118


def first_free_person_number(village: Institution) -> int:
    """The village's next 5-digit person number (highest + 1), with the village's numbering
    held until the transaction ends.

    Highest + 1 is only safe while no one else in the village is numbering: on PostgreSQL a
    transaction-level advisory lock per village makes concurrent registrations take turns (two
    at once had collided on the unique number); SQLite writers already take turns."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NUMBERING_LOCK, village.pk])
    prefix = village.code[:12]
    top = Patient.objects.filter(
        health_record_number__gte=f"{prefix}00000", health_record_number__lte=f"{prefix}99999"
    ).aggregate(top=Max("health_record_number"))["top"]
    return int(top[12:]) + 1 if top else 1


def format_health_record_number(village: Institution, person: int) -> str:
    """The 17-digit number: the village's 12-digit code and the 5-digit person number."""
    if person > 99_999:
        raise Conflict(_("This village has used up its five-digit person numbers."))
    return f"{village.code[:12]}{person:05d}"


def next_health_record_number(village: Institution) -> str:
    """The village's next 17-digit number (see ``first_free_person_number``)."""
    return format_health_record_number(village, first_free_person_number(village))


def _new_patient(clean: Clean) -> Patient:
    patient = new_patient_row(clean, used=_NumberTaken(), next_number=next_health_record_number)
    patient.save(force_insert=True)
    patient_name_keys_write(patient=patient)
    return patient


def new_patient_row(
    clean: Clean, *, used: Container[str], next_number: Callable[[Institution], str]
) -> Patient:
    """The resident ``clean`` files (not yet saved): its ID number unless another resident holds
    it (``used``), and the village's next health-record number (``next_number``)."""
    f = clean.features
    id_number = clean.id_number or None
    if id_number and id_number in used:
        id_number = None  # the same number on another resident: kept on the registration only
    return Patient(
        health_record_number=next_number(clean.village) if clean.village else None,
        id_number=id_number,
        name=clean.name,
        sex=f.sex,
        birth_date=f.birth_date,
        phone=f.phone,
        village=clean.village,
        address=clean.entry.address.strip()[:200],
    )


GOLDEN_FIELDS = (
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "village_id",
    "address",
    "health_record_number",
)


def golden_snapshot(patient: Patient) -> dict[str, Any]:
    values = {f: getattr(patient, f) for f in GOLDEN_FIELDS}
    values["birth_date"] = values["birth_date"].isoformat() if values["birth_date"] else None
    return values


class _NumberTaken:
    """``number in taken``: another resident already holds this ID number (one indexed probe)."""

    def __contains__(self, number: object) -> bool:
        return Patient.objects.filter(id_number=number).exists()


def fill_golden(golden: dict[str, Any], link: dict[str, Any], *, used: Container[str]) -> list[str]:
    """Survivorship when a registration links to a resident (``golden`` is changed in place).

    A trusted ID number nobody else holds, a birth date, sex and village fill gaps; the newest
    phone and address replace older ones; a name is never overwritten by a link. ``link`` has
    the registration's id_number (trusted or ''), birth_date, sex, phone, village_id, address.
    Returns the changed field names. Used alike by the desk and the batch importer.
    """
    changed: list[str] = []
    if not golden["name"] and link.get("name"):  # a record filed from an ID number alone
        golden["name"] = link["name"]
        changed.append("name")
    if not golden["id_number"] and link["id_number"] and link["id_number"] not in used:
        golden["id_number"] = link["id_number"]
        changed.append("id_number")
    for name in ("birth_date", "sex", "village_id"):
        if not golden[name] and link[name]:
            golden[name] = link[name]
            changed.append(name)
    for name in ("phone", "address"):
        if link[name] and link[name] != golden[name]:
            golden[name] = link[name]
            changed.append(name)
    return changed


def _link_values(clean: Clean) -> dict[str, Any]:
    f = clean.features
    return {
        "name": clean.name,
        "id_number": clean.id_number,
        "birth_date": f.birth_date,
        "sex": f.sex,
        "phone": f.phone,
        "village_id": clean.village.pk if clean.village else None,
        "address": clean.entry.address.strip()[:200],
    }


def _fill_golden(
    patient: Patient,
    clean: Clean,
    *,
    used: Container[str] | None = None,
    next_number: Callable[[Institution], str] = next_health_record_number,
) -> list[str]:
    """Survivorship of a link on ``patient`` (in place): ``used`` tells ID numbers other
    residents hold, ``next_number`` gives a village's next health-record number."""
    golden = {f: getattr(patient, f) for f in GOLDEN_FIELDS}
    changed = fill_golden(golden, _link_values(clean), used=used if used is not None else _NumberTaken())
    if "village_id" in changed and not golden["health_record_number"] and clean.village is not None:
        golden["health_record_number"] = next_number(clean.village)
        changed.append("health_record_number")
    for name in changed:
        setattr(patient, name, golden[name])
    return changed


def _registration(clean: Clean, **fields: Any) -> Registration:
    registration = _registration_row(clean, **fields)
    registration.save(force_insert=True)
    return registration


def _registration_row(
    clean: Clean,
    *,
    patient: Patient,
    institution: Institution,
    source: str,
    result: MatchResult,
    decision: str,
) -> Registration:
    """The registration of ``clean`` as it is stored (not yet saved): blocking keys, decision,
    probability and the explanation of the decision."""
    keys = engine.stored_keys(clean.features)
    best = result.candidates[0] if result.candidates else None
    entry = clean.entry
    return Registration(
        patient=patient,
        institution=institution,
        local_number=entry.local_number or f"{source}-{uuid.uuid4().hex[:16]}",
        source=source,
        name=clean.name,
        sex=clean.sex,
        birth_date=entry.birth_date,
        id_number_entered=(entry.id_number or "").strip(),
        id_number=clean.id_number,
        id_problem=clean.id_problem,
        phone=(entry.phone or "").strip()[:20],
        address=entry.address.strip()[:200],
        village=clean.village,
        health_card_number=entry.health_card_number.strip(),
        insurance_number=entry.insurance_number.strip(),
        decision=decision,
        probability=best.scored.probability if best else None,
        explanation=_explain(result),
        config=result.config.row,
        id_tail=keys.id_tail,
        name_key=keys.name_key,
        birth_key=keys.birth_key,
    )


def _explain(result: MatchResult) -> dict[str, Any]:
    return {
        "config_version": result.config.version,
        "decision": result.decision,
        "candidates": [
            {"patient_id": c.patient_id, **c.scored.explanation()} for c in result.candidates[:MAX_REVIEWS]
        ],
    }


def _same_entry(existing: Registration, clean: Clean) -> bool:
    entry = clean.entry
    return (
        existing.name == clean.name
        and existing.sex == clean.sex
        and existing.birth_date == entry.birth_date
        and existing.id_number_entered == (entry.id_number or "").strip()
        and existing.phone == (entry.phone or "").strip()[:20]
        and existing.address == entry.address.strip()[:200]
    )


def _require_register(actor: Any, institution: Institution) -> None:
    if actor is None:
        return
    scope = scope_for(actor)
    scope.require_write()
    scope.require(
        scope.sees_institution(institution.pk) and not scope.is_oversight and not scope.self_patient_only,
        _("Only staff of a member institution may register residents."),
    )


@dataclass(frozen=True)
class Registered:
    registration: Registration
    patient: Patient
    decision: str
    created: bool  # False when the same registration was already on file


@transaction.atomic
def registration_create(
    *,
    actor: Any,
    institution: Institution,
    entry: Entry,
    source: str = RegistrationSource.DESK,
    config: ActiveConfig | None = None,
) -> Registered:
    """Register ``entry`` at ``institution``: link, send to review, or file a new resident.

    Registering the same local record number again with the same fields returns the existing
    registration unchanged (safe to retry); with different fields it is a conflict.
    """
    _require_register(actor, institution)
    clean = clean_entry(entry)
    if entry.local_number:
        existing = (
            Registration.objects.select_related("patient")
            .filter(institution=institution, local_number=entry.local_number)
            .first()
        )
        if existing is not None:
            if not _same_entry(existing, clean):
                raise Conflict(
                    _("This local record number is already registered with other details."),
                    field="local_number",
                )
            return Registered(existing, existing.patient, existing.decision, created=False)
    result = match(clean.features, config=config)
    decision = result.decision
    if decision == Decision.LINKED:
        patient = Patient.objects.select_for_update().get(pk=result.candidates[0].patient_id)
        before = golden_snapshot(patient)
        changed = _fill_golden(patient, clean)
        if changed:
            patient.save()
    else:
        patient = _new_patient(clean)
        before, changed = {}, []
    try:
        with transaction.atomic():
            registration = _registration(
                clean,
                patient=patient,
                institution=institution,
                source=source,
                result=result,
                decision=decision,
            )
    except IntegrityError:
        raise Conflict(_("This local record number is already registered."), field="local_number") from None
    if decision == Decision.REVIEW:
        _open_reviews(registration, patient, result)
    audit(
        actor=actor,
        verb="patient.register",
        subject=patient,
        institution_id=institution.pk,
        before={k: before[k] for k in changed if k in before} or None,
        after={
            "registration_id": registration.pk,
            "local_number": registration.local_number,
            "decision": decision,
            "probability": registration.probability,
            "config_version": result.config.version,
            "changed": changed,
        },
    )
    return Registered(registration, patient, decision, created=True)


def ordered_pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _open_reviews(registration: Registration, patient: Patient, result: MatchResult) -> list[MatchReview]:
    model = result.config.model
    opened = []
    for candidate in result.candidates[:MAX_REVIEWS]:
        if candidate.scored.probability < model.review or candidate.patient_id == patient.pk:
            continue
        low, high = ordered_pair(patient.pk, candidate.patient_id)
        if NonMatch.objects.filter(low_id=low, high_id=high).exists():
            continue
        opened.append(
            MatchReview.objects.create(
                registration=registration,
                patient=patient,
                candidate_id=candidate.patient_id,
                probability=candidate.scored.probability,
                explanation=candidate.scored.explanation(),
            )
        )
    return opened


# --- update ---------------------------------------------------------------------------------


class UpdateOutcome:
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    REVIEW = "review"


@dataclass(frozen=True)
class Updated:
    """What ``registration_update`` did. ``outcome`` is ``unchanged`` (same details, nothing
    written), ``updated`` (the registration still fits its resident) or ``review`` (it no longer
    fits, or now fits another resident: it stays where it was and ``reviews`` are open)."""

    registration: Registration
    patient: Patient
    outcome: str
    changed: list[str]
    reviews: list[MatchReview]
    reasons: list[str]


#: Registration fields an update may change (what the clerk typed and what is derived from it).
UPDATE_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "id_number_entered",
    "id_number",
    "id_problem",
    "phone",
    "address",
    "village_id",
    "health_card_number",
    "insurance_number",
)

#: Why an updated registration went to review or was refused, in words.
REASONS = {
    "id_conflict": _("a different ID number"),
    "name_different": _("a different name"),
    "birth_different": _("a birth date far apart"),
    "no_longer_matches": _("too little in common with the resident"),
    "matches_other_resident": _("the details of another resident"),
}


def reasons_text(reasons: list[str]) -> str:
    """The reasons of an update's review or refusal, in words, comma-separated."""
    return ", ".join(str(REASONS.get(r, r)) for r in reasons)


#: Guards that mean "this record is probably not this resident" (``engine.GUARDS``).
UNFIT_GUARDS = frozenset({"id_conflict", "name_different", "birth_different"})


def _entered_values(clean: Clean, existing: Registration) -> dict[str, Any]:
    entry = clean.entry
    return {
        "name": clean.name,
        "sex": clean.sex,
        "birth_date": entry.birth_date,
        "id_number_entered": (entry.id_number or "").strip(),
        "id_number": clean.id_number,
        "id_problem": clean.id_problem,
        "phone": (entry.phone or "").strip()[:20],
        "address": entry.address.strip()[:200],
        "village_id": clean.village.pk if clean.village else None,
        # numbers the sender did not send are kept (an HL7 PID often leaves them out)
        "health_card_number": entry.health_card_number.strip() or existing.health_card_number,
        "insurance_number": entry.insurance_number.strip() or existing.insurance_number,
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _best_against(
    config: ActiveConfig, probe: engine.Features, rows: list[tuple[int, engine.Features]]
) -> list[engine.Candidate]:
    names: dict[str, float | None] = {}

    def share(name: str) -> float | None:
        if name not in names:
            names[name] = config.model.name_share(name_count(name), resident_total()) if name else None
        return names[name]

    return engine.best_per_patient(config.model, probe, rows, share)


def _others(patient_ids: list[int], registration: Registration) -> list[tuple[int, engine.Features]]:
    """Features of every registration of these residents but ``registration`` itself."""
    if not patient_ids:
        return []
    rows = (
        Registration.objects.filter(patient_id__in=patient_ids)
        .exclude(pk=registration.pk)
        .values(*FEATURE_FIELDS)
    )
    return [(r["patient_id"], registration_features(r)) for r in rows]


def _golden_features(patient: Patient) -> engine.Features:
    return engine.features(
        name=patient.name,
        sex=patient.sex,
        birth_date=patient.birth_date,
        id_number=patient.id_number or "",
        phone=patient.phone,
        village=patient.village.code if patient.village_id and patient.village else "",
    )


def _own_fit(
    config: ActiveConfig, registration: Registration, patient: Patient, probe: engine.Features
) -> engine.Scored:
    """The probe against its own resident: the best of the resident's other registrations, or
    the golden record when this registration is the resident's only one."""
    rows = _others([patient.pk], registration) or [(patient.pk, _golden_features(patient))]
    return _best_against(config, probe, rows)[0].scored


def _review_with(
    registration: Registration, patient: Patient, candidate: engine.Candidate
) -> MatchReview | None:
    """Open (or find open) a review of ``patient`` and ``candidate``; None when the office
    already declared them different people or decided this pair before."""
    low, high = ordered_pair(patient.pk, candidate.patient_id)
    if NonMatch.objects.filter(low_id=low, high_id=high).exists():
        return None
    pair = MatchReview.objects.filter(patient=patient, candidate_id=candidate.patient_id).first()
    if pair is None:
        pair = MatchReview.objects.filter(patient_id=candidate.patient_id, candidate=patient).first()
    if pair is not None:
        return pair if pair.status == "open" else None
    return MatchReview.objects.create(
        registration=registration,
        patient=patient,
        candidate_id=candidate.patient_id,
        probability=candidate.scored.probability,
        explanation=candidate.scored.explanation(),
    )


@transaction.atomic
def registration_update(
    *,
    actor: Any,
    institution: Institution,
    local_number: str,
    entry: Entry,
    config: ActiveConfig | None = None,
) -> Updated:
    """Correct ``institution``'s registration ``local_number`` with the details of ``entry``.

    Same details: nothing is written (safe to retry). Otherwise the registration's fields and
    blocking keys are updated and it is scored again, against its own resident and against the
    index. Still fitting its resident: the golden record's gaps are filled as at a link (a
    verified value is never replaced; the newest phone and address win). No longer fitting (an
    ID conflict, a wholly different name, a birth date far off) or now linking another resident:
    the registration is *not* moved and the golden record is not touched; a review is opened for
    the consortium office. A registration that contradicts its resident with no other resident
    to compare with is refused (``Conflict``): a review always pairs two residents.
    """
    _require_register(actor, institution)
    existing = (
        Registration.objects.select_for_update(of=("self",))
        .select_related("village")
        .filter(institution=institution, local_number=local_number)
        .first()
    )
    if existing is None:
        raise NotFound(_("This institution has no registration with this local record number."))
    clean = clean_entry(entry)
    values = _entered_values(clean, existing)
    before = {f: getattr(existing, f) for f in UPDATE_FIELDS}
    changed = [f for f in UPDATE_FIELDS if before[f] != values[f]]
    patient = Patient.objects.select_for_update().get(pk=existing.patient_id)
    if not changed:
        return Updated(existing, patient, UpdateOutcome.UNCHANGED, [], [], [])
    config = config or active_config()
    old_probe = registration_features(existing)
    new_probe = clean.features
    old_fit = _own_fit(config, existing, patient, old_probe)
    new_fit = _own_fit(config, existing, patient, new_probe)
    reasons = sorted((set(new_fit.guards) - set(old_fit.guards)) & UNFIT_GUARDS)
    model = config.model
    if not reasons and new_fit.probability < model.review <= old_fit.probability:
        reasons.append("no_longer_matches")
    # the index, without this registration and its own resident
    others = [
        c
        for c in _best_against(
            config, new_probe, _others(candidate_ids(engine.probe_keys(new_probe)), existing)
        )
        if c.patient_id != patient.pk
    ]
    floor = model.review if reasons else model.link
    reviews = [
        r
        for c in others[:MAX_REVIEWS]
        if c.scored.probability >= floor
        if (r := _review_with(existing, patient, c))
    ]
    if reasons and not reviews:
        raise Conflict(
            _(
                "The new details contradict the resident's other records (%(reasons)s); "
                "the consortium office must correct this resident."
            )
            % {"reasons": reasons_text(reasons)},
            field="local_number",
        )
    if reviews and not reasons:
        reasons.append("matches_other_resident")
    for name, value in values.items():
        setattr(existing, name, value)
    existing.village = clean.village
    keys = engine.stored_keys(new_probe)
    existing.id_tail, existing.name_key, existing.birth_key = keys.id_tail, keys.name_key, keys.birth_key
    golden_before: dict[str, Any] = {}
    golden_changed: list[str] = []
    if reviews:
        outcome = UpdateOutcome.REVIEW
        existing.decision = Decision.REVIEW
    else:
        outcome = UpdateOutcome.UPDATED
        golden_before = golden_snapshot(patient)
        golden_changed = _fill_golden(patient, clean)
        if golden_changed:
            patient.save()
            if "name" in golden_changed:
                patient_name_keys_write(patient=patient)
    existing.save()
    audit(
        actor=actor,
        verb="registration.update",
        subject=existing,
        institution_id=institution.pk,
        before={
            **{f: _jsonable(before[f]) for f in changed},
            "golden": {k: golden_before[k] for k in golden_changed},
        },
        after={
            **{f: _jsonable(values[f]) for f in changed},
            "patient_id": patient.pk,
            "outcome": outcome,
            "reasons": reasons,
            "reviews": [r.pk for r in reviews],
            "golden": {k: _jsonable(getattr(patient, k)) for k in golden_changed},
            "config_version": config.version,
        },
    )
    return Updated(existing, patient, outcome, changed, reviews, reasons)


__all__ = [
    "Clean",
    "Entry",
    "IdProblem",
    "Registered",
    "UpdateOutcome",
    "Updated",
    "clean_entry",
    "reasons_text",
    "registration_create",
    "registration_update",
    "village_from_address",
]
