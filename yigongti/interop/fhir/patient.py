"""Patient over the master patient index (``patients``): reads of the golden record, writes as a
registration through ``registration_create`` (link, review or new, never a blind duplicate), and
updates (PUT) of the caller's institution's registration through ``registration_update`` (a
registration that no longer fits its resident is never moved: a review is opened).

Who may read a resident here: the staff who look after the resident's village (as everywhere),
the resident themself, and staff of an institution where the resident is registered (a county
hospital's HIS reads the patients it registered). Oversight roles see no personal rows.
Reads and searches write a ``patient.read`` audit row naming the residents returned.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yigongti.core import idnumbers
from yigongti.core.audit import audit
from yigongti.core.errors import DomainError
from yigongti.institutions.models import Institution
from yigongti.patients.matching.many import EntryRejected, registrations_create_many
from yigongti.patients.matching.services import (
    Entry,
    UpdateOutcome,
    registration_create,
    registration_update,
)
from yigongti.patients.models import (
    Decision,
    NameKeyKind,
    Patient,
    Registration,
    RegistrationSource,
)
from yigongti.patients.names import has_han, pinyin_readings
from yigongti.patients.selectors import keyed_names, names_containing, names_ending

from ..models import RegistrationIdentifier
from ..services import registration_identifier_record
from .base import (
    OID_ID_NUMBER,
    OID_INPATIENT,
    OID_INSURANCE,
    OID_OUTPATIENT,
    SID_HEALTH_RECORD,
    YGT,
    Ctx,
    EntryFailed,
    Include,
    ResourceType,
    SearchParam,
    Written,
    date_q,
    reference_id,
    split_token,
)
from .outcome import FhirError, Issue, from_domain
from .patient_input import GENDER_IN, entry_from
from .validate import validate_structure

GENDER_OUT = {"M": "male", "F": "female"}
DECISION_SYSTEM = f"{YGT}/CodeSystem/mpi-decision"
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "令狐", "端木", "西门", "南宫", "独孤", "轩辕", "申屠",
)  # fmt: skip


def _is_han(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" or ch == "·" for ch in text)


def split_name(name: str) -> tuple[str, str]:
    """A Han name as (family, given); other names have no known split."""
    if not _is_han(name) or len(name) < 2:
        return "", ""
    size = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:size], name[size:]


def _visible(scope: Any) -> Q | None:
    if scope.self_patient_only:
        return Q(user_id=scope.user_id) if scope.user_id else None
    condition = Q(village_id__in=scope.resident_village_ids) if scope.resident_village_ids else Q(pk__in=[])
    if scope.membership is not None and not scope.is_oversight and scope.institution_ids:
        registered = Registration.objects.filter(institution_id__in=scope.institution_ids).values(
            "patient_id"
        )
        condition |= Q(pk__in=registered)
    return condition


@dataclass(frozen=True)
class _Own:
    """A registration of one of the caller's institutions, as the Patient's identifier shows it."""

    local_number: str
    insurance_number: str
    system: str | None
    code: str  # the institution's, as the identifier's assigner
    name: str


@dataclass(frozen=True)
class _Details:
    """What a Patient resource shows besides the resident's own row (``PatientType.prepare``)."""

    village: tuple[str, str] | None  # (code, name)
    own: list[_Own]
    merged: list[int]  # residents merged into this one


def _marks(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


#: The detail statements, run as one UNION ALL: (what, order, patient or place, code, name, local
#: number, insurance number, identifier system); table names from the models, values as
#: parameters (each ``(%s)`` becomes a list of placeholders per call).
_SQL = {
    "merged": (
        "SELECT 'm', id, merged_into_id, NULL, NULL, NULL, NULL, NULL "
        "FROM {patient} WHERE merged_into_id IN (%s)"
    ),
    "places": "SELECT 'p', 0, id, code, name, NULL, NULL, NULL FROM {inst} WHERE id IN (%s)",
    "own": (
        "SELECT 'r', r.id, r.patient_id, i.code, i.name, r.local_number, r.insurance_number, "
        "(SELECT x.system FROM {ident} x WHERE x.registration_id = r.id LIMIT 1) "
        "FROM {reg} r JOIN {inst} i ON i.id = r.institution_id "
        "WHERE r.patient_id IN (%s) AND r.institution_id IN (%s)"
    ),
}
_SQL = {
    name: sql.format(
        inst=Institution._meta.db_table,
        patient=Patient._meta.db_table,
        reg=Registration._meta.db_table,
        ident=RegistrationIdentifier._meta.db_table,
    )
    for name, sql in _SQL.items()
}


class PatientType(ResourceType):
    name = "Patient"
    model = Patient
    interactions = ("read", "search-type", "create", "update")
    conditional_create = True
    documentation = (
        "The master patient index's golden record. Create registers the resident at the caller's "
        "institution through the master index: an existing resident is linked (200, header "
        "X-MPI-Decision: linked), a possible duplicate is filed and queued for review (201, review), "
        "otherwise a new resident is filed (201, new). Update (PUT) corrects the caller's institution's "
        "registration of that Patient, named by its local record number identifier (404 if the "
        "institution has none, 422 if the number belongs to another Patient): 200 with X-MPI-Decision "
        "updated, unchanged, or review (the details no longer fit this resident, or fit another: "
        "nothing is moved, the consortium office reviews it). Names are stored as one string without spaces; "
        "a phone number as its digits; an address as one line of text."
    )
    accepted = frozenset(
        {"identifier", "name", "gender", "birthDate", "telecom", "address", "active", "managingOrganization"}
    )

    def params(self) -> list[SearchParam]:
        return [
            SearchParam(
                "identifier",
                "token",
                "ID number, health-record number, local record number",
                self._identifier,
            ),
            SearchParam(
                "name",
                "string",
                "Any part of the name, or its pinyin or initials",
                self._name,
                ("contains", "exact"),
            ),
            SearchParam("family", "string", "Family name (start of the name)", self._family, ("exact",)),
            SearchParam("given", "string", "Given name", self._given, ("exact",)),
            SearchParam("birthdate", "date", "Date of birth", lambda v, m: date_q("birth_date", v)),
            SearchParam("gender", "token", "male | female", self._gender),
            SearchParam("phone", "token", "Phone number", lambda v, m: Q(phone=split_token(v)[1])),
            SearchParam("address", "string", "Any part of the address", lambda v, m: Q(address__icontains=v)),
            SearchParam("organization", "reference", "Village clinic (Organization)", self._organization),
        ]

    def include_list(self) -> list[Include]:
        return [
            Include(
                "organization",
                "Organization",
                lambda rows: {r.fhir_details.village[0] for r in rows if r.village_id},
            ),
        ]

    # -- search ---------------------------------------------------------------------------------
    def _identifier(self, value: str, modifier: str) -> Q:
        system, code = split_token(value)
        code = code.strip()
        if not code:
            return Q(pk__in=[])
        by_id = Q(id_number=idnumbers.normalize(code))
        by_record = Q(health_record_number=code)
        local = Registration.objects.filter(local_number=code).values("patient_id")
        insured = Registration.objects.filter(insurance_number=code).values("patient_id")
        if system is None:
            return by_id | by_record | Q(pk__in=local) | Q(pk__in=insured)
        return {
            OID_ID_NUMBER: by_id,
            SID_HEALTH_RECORD: by_record,
            OID_OUTPATIENT: Q(pk__in=local),
            OID_INPATIENT: Q(pk__in=local),
            OID_INSURANCE: Q(pk__in=insured),
        }.get(system, Q(pk__in=[]))

    def _name(self, value: str, modifier: str) -> Q:
        value = "".join(value.split())
        if modifier == "exact":
            return Q(name=value)
        if has_han(value):
            # characters anywhere in the (simplified) name: a range of the suffix keys' index,
            # where a plain match had read every name in scope
            return names_containing(value)
        found = Q(name__contains=value) if value.lower() == value.upper() else Q(name__icontains=value)
        return found | keyed_names([NameKeyKind.PINYIN, NameKeyKind.INITIALS], value.lower())

    def _family(self, value: str, modifier: str) -> Q:
        return Q(name__startswith=value.strip())

    def _given(self, value: str, modifier: str) -> Q:
        value = value.strip()
        return names_ending(value) if _is_han(value) else Q(name__icontains=value)

    def _gender(self, value: str, modifier: str) -> Q:
        sex = GENDER_IN.get(split_token(value)[1])
        return Q(sex=sex) if sex is not None else Q(pk__in=[])

    def _organization(self, value: str, modifier: str) -> Q:
        return Q(village__code=reference_id(value, "Organization"))

    # -- reads ----------------------------------------------------------------------------------
    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        condition = _visible(ctx.scope)
        if condition is None:
            return Patient.objects.none()
        return Patient.objects.filter(condition)

    def prepare(self, ctx: Ctx, rows: list[Any]) -> None:
        """The village, the caller's institutions' registrations (with their identifier system)
        and the residents merged into each row, for many rows in three plain statements.

        The rows are the scoped queryset's; these statements only add details of rows already
        visible (registrations: of the caller's own institutions only, as before). Written as
        SQL because the same details through a prefetch, a join and an EXISTS cost three times
        as long as the whole rest of a read (the ORM building and compiling them each time)."""
        todo = [r for r in rows if not hasattr(r, "fhir_details")]
        if not todo:
            return
        ids = sorted({r.pk for r in todo})
        villages = sorted({r.village_id for r in todo if r.village_id})
        own: dict[int, list[_Own]] = defaultdict(list)
        merged: dict[int, list[int]] = defaultdict(list)
        places: dict[int, tuple[str, str]] = {}
        institutions = sorted(ctx.scope.institution_ids)
        parts, params = [_SQL["merged"] % _marks(ids)], [*ids]
        if villages:
            parts.append(_SQL["places"] % _marks(villages))
            params += villages
        if institutions:
            parts.append(_SQL["own"] % (_marks(ids), _marks(institutions)))
            params += [*ids, *institutions]
        with connection.cursor() as cursor:  # one round trip: the three lists as one result
            cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2", params)
            for what, order, pk, code, name, local, insured, system in cursor.fetchall():
                if what == "m":
                    merged[pk].append(order)
                elif what == "p":
                    places[pk] = (code, name)
                else:
                    own[pk].append(_Own(local or "", insured or "", system, code, name))
        for row in todo:
            row.fhir_details = _Details(places.get(row.village_id), own[row.pk], merged[row.pk])

    def after_read(self, ctx: Ctx, rows: list[Any]) -> None:
        if not rows:
            return
        if len(rows) == 1:
            audit(actor=ctx.user, verb="patient.read", subject=rows[0], membership=ctx.membership)
            return
        audit(
            actor=ctx.user,
            verb="patient.read",
            object_type="patients.patient",
            object_id=",".join(str(r.pk) for r in rows)[:200],
            membership=ctx.membership,
            after={"patient_ids": [r.pk for r in rows], "via": "fhir-search"},
        )

    def export_queryset(self, ctx: Ctx, patient_ids: set[int] | None) -> QuerySet[Any] | None:
        qs = self.queryset(ctx).filter(merged_into__isnull=True)
        return qs if patient_ids is None else qs.filter(pk__in=patient_ids)

    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        resource: dict[str, Any] = {"resourceType": "Patient", "id": str(row.pk), "meta": self.meta(row)}
        resource["identifier"] = self._identifiers(row, ctx)
        resource["active"] = row.merged_into_id is None
        family, given = split_name(row.name)
        official: dict[str, Any] = {"use": "official", "text": row.name}
        if family:
            official["family"] = family
            official["given"] = [given]
        names = [official]
        readings = pinyin_readings(row.name) if _is_han(row.name) else ()
        if readings:
            names.append({"use": "usual", "text": readings[0]})
        resource["name"] = names
        if row.phone:
            resource["telecom"] = [{"system": "phone", "value": row.phone}]
        if row.sex in GENDER_OUT:
            resource["gender"] = GENDER_OUT[row.sex]
        if row.birth_date:
            resource["birthDate"] = row.birth_date.isoformat()
        if row.address:
            resource["address"] = [{"text": row.address}]
        details = self._details(row, ctx)
        if details.village:
            code, name = details.village
            resource["managingOrganization"] = {"reference": f"Organization/{code}", "display": name}
        links = []
        if row.merged_into_id:
            links.append({"other": {"reference": f"Patient/{row.merged_into_id}"}, "type": "replaced-by"})
        for merged_id in details.merged:
            links.append({"other": {"reference": f"Patient/{merged_id}"}, "type": "replaces"})
        if links:
            resource["link"] = links
        return resource

    def _details(self, row: Any, ctx: Ctx) -> _Details:
        """The row's prepared details (``prepare``), looked up now for a row that was not."""
        if not hasattr(row, "fhir_details"):
            self.prepare(ctx, [row])
        return row.fhir_details

    def _identifiers(self, row: Any, ctx: Ctx) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if row.id_number:
            out.append({"use": "official", "system": OID_ID_NUMBER, "value": row.id_number})
        if row.health_record_number:
            out.append({"system": SID_HEALTH_RECORD, "value": row.health_record_number})
        seen: set[tuple[str, str]] = set()
        for reg in self._details(row, ctx).own:
            assigner = {"reference": f"Organization/{reg.code}", "display": reg.name}
            for system, value in (
                (reg.system or OID_OUTPATIENT, reg.local_number),
                (OID_INSURANCE, reg.insurance_number),
            ):
                if value and (system, value) not in seen:
                    seen.add((system, value))
                    out.append({"use": "usual", "system": system, "value": value, "assigner": assigner})
        return out

    # -- writes ---------------------------------------------------------------------------------
    def create(self, ctx: Ctx, resource: dict[str, Any]) -> Written:
        entry, system = self._entry(resource)
        institution = self._institution(ctx)
        try:
            done = registration_create(
                actor=ctx.user, institution=institution, entry=entry, source=RegistrationSource.API
            )
            self._identifier_system(ctx, done, system)
        except DomainError as exc:
            raise from_domain(exc, prefix="Patient.") from None
        return self._written(ctx, done, system)

    def create_many(self, ctx: Ctx, resources: list[dict[str, Any]]) -> list[Written]:
        """Many creates in one transaction (a transaction Bundle's Patients), decided as one after
        the other but looked up and written together (``patients.matching.many``)."""
        parsed = []
        for i, resource in enumerate(resources):
            try:
                parsed.append(self._entry(resource))
            except FhirError as exc:
                raise EntryFailed(i, exc) from None
        institution = self._institution(ctx)
        try:
            done = registrations_create_many(
                actor=ctx.user,
                institution=institution,
                entries=[entry for entry, _system in parsed],
                source=RegistrationSource.API,
            )
        except EntryRejected as exc:
            raise EntryFailed(exc.index, from_domain(exc.error, prefix="Patient.")) from None
        except DomainError as exc:
            raise from_domain(exc, prefix="Patient.") from None
        # residents read back through the scope (linked to, or not the caller's registration): one query
        visible = self.queryset(ctx).in_bulk([one.patient.pk for one in done])
        out = []
        for i, (one, (_entry, system)) in enumerate(zip(done, parsed, strict=True)):
            try:
                self._identifier_system(ctx, one, system)
            except DomainError as exc:
                raise EntryFailed(i, from_domain(exc, prefix="Patient.")) from None
            out.append(self._written(ctx, one, system, visible))
        return out

    def _entry(self, resource: dict[str, Any]) -> tuple[Entry, str]:
        self.refuse_unknown(resource)
        validate_structure(resource, "Patient")
        return entry_from(resource)

    def _institution(self, ctx: Ctx) -> Any:
        if ctx.scope.membership is None:
            raise FhirError(403, "forbidden", _("Only staff of a member institution may register residents."))
        return ctx.scope.membership.institution

    def _identifier_system(self, ctx: Ctx, done: Any, system: str) -> None:
        """An inpatient number keeps its system, so that it reads back under it."""
        if done.created and system and system != OID_OUTPATIENT:
            registration_identifier_record(actor=ctx.user, registration=done.registration, system=system)

    def _written(self, ctx: Ctx, done: Any, system: str, visible: dict[int, Any] | None = None) -> Written:
        """The answer for one registration; ``visible``: the scope's rows of a batch, read already."""
        decision = done.decision
        texts: dict[str, str] = {
            Decision.LINKED: _("The master index linked this record to an existing resident."),
            Decision.REVIEW: _("A new resident was filed and queued for review as a possible duplicate."),
            Decision.NEW: _("A new resident was filed."),
        }
        text = texts[decision]
        if not done.created:
            text = _(
                "This local record number was already registered with the same details; nothing changed."
            )
        issues = [Issue("information", "informational", text, [f"{DECISION_SYSTEM}#{decision}"])]
        row = self._fresh(ctx, done, system) if done.created and decision != Decision.LINKED else None
        if row is None:
            pk = done.patient.pk
            row = visible.get(pk) if visible is not None else self.queryset(ctx).filter(pk=pk).first()
        row = row or done.patient
        return Written(
            row=row,
            created=done.created and decision != Decision.LINKED,
            issues=issues,
            headers={"X-MPI-Decision": decision},
        )

    def _fresh(self, ctx: Ctx, done: Any, system: str) -> Any:
        """A resident this create filed: its one registration is the one just written, and nothing
        was merged into it, so the row reads back as FHIR without querying it again."""
        registration = done.registration
        if ctx.scope.is_oversight or registration.institution_id not in ctx.scope.institution_ids:
            return None  # not the caller's own registration: read it back through the scope
        patient = done.patient
        own = _Own(
            registration.local_number or "",
            registration.insurance_number or "",
            system or None,
            registration.institution.code,
            registration.institution.name,
        )
        village = patient.village if patient.village_id else None
        patient.fhir_details = _Details((village.code, village.name) if village else None, [own], [])
        return patient

    def update(self, ctx: Ctx, resource_id: str, resource: dict[str, Any]) -> Written:
        self.refuse_unknown(resource)
        validate_structure(resource, "Patient")
        entry, _system = entry_from(resource)
        scope = ctx.scope
        if scope.membership is None:
            raise FhirError(403, "forbidden", _("Only staff of a member institution may register residents."))
        if not entry.local_number:
            raise FhirError(
                422,
                "required",
                _(
                    "An update needs your institution's local record number (an outpatient or "
                    "inpatient number identifier)."
                ),
                expression="Patient.identifier",
            )
        patient = self.get(ctx, resource_id)
        institution = scope.membership.institution
        registered = (
            Registration.objects.filter(institution=institution, local_number=entry.local_number)
            .values_list("patient_id", flat=True)
            .first()
        )
        if registered is None:
            raise FhirError(
                404,
                "not-found",
                _(
                    "Your institution has no registration with the local record number %(number)s; "
                    "register the resident with POST first."
                )
                % {"number": entry.local_number},
                expression="Patient.identifier",
            )
        if registered != patient.pk:
            raise FhirError(
                422,
                "business-rule",
                _("Your local record number %(number)s belongs to another Patient (%(id)s).")
                % {"number": entry.local_number, "id": registered},
                expression="Patient.identifier",
            )
        try:
            done = registration_update(
                actor=ctx.user, institution=institution, local_number=entry.local_number, entry=entry
            )
        except DomainError as exc:
            raise from_domain(exc, prefix="Patient.") from None
        texts: dict[str, str] = {
            UpdateOutcome.UNCHANGED: _("Your registration already has these details; nothing changed."),
            UpdateOutcome.UPDATED: _("Your registration was updated; it still belongs to this resident."),
            UpdateOutcome.REVIEW: _(
                "Your registration was updated, but its details no longer fit this resident or fit "
                "another one: it stays with this resident and the consortium office will review it."
            ),
        }
        issues = [
            Issue("information", "informational", texts[done.outcome], [f"{DECISION_SYSTEM}#{done.outcome}"])
        ]
        row = self.queryset(ctx).filter(pk=done.patient.pk).first() or done.patient
        return Written(row=row, created=False, issues=issues, headers={"X-MPI-Decision": done.outcome})
