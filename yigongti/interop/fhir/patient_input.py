"""A FHIR Patient resource read as a master-index ``Entry``: the checks that refuse what the
index cannot keep (a second name that is not pinyin, a second phone or address, an unknown
identifier system), each as a 422 naming the element at fault.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core import idnumbers
from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.matching.services import Entry

from .base import OID_ID_NUMBER, OID_INPATIENT, OID_INSURANCE, OID_OUTPATIENT, SID_HEALTH_RECORD, reference_id
from .outcome import FhirError

GENDER_IN = {"male": "M", "female": "F", "unknown": ""}
LOCAL_SYSTEMS = (OID_OUTPATIENT, OID_INPATIENT)


def _name_from(resource: dict[str, Any]) -> str:
    names = resource.get("name") or []
    if not names:
        raise FhirError(422, "required", _("A Patient needs a name."), expression="Patient.name")
    first = names[0]
    if first.get("text"):
        return str(first["text"])
    return str(first.get("family") or "") + "".join(str(g) for g in first.get("given") or [])


def _refuse(path: str, message: str) -> FhirError:
    return FhirError(422, "not-supported", message, expression=path)


def _identifiers_from(resource: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, ident in enumerate(resource.get("identifier") or []):
        system, value = ident.get("system") or "", str(ident.get("value") or "").strip()
        path = f"Patient.identifier[{i}]"
        if system == SID_HEALTH_RECORD:
            continue  # assigned by us; read back, never set by a sender
        if system not in (OID_ID_NUMBER, *LOCAL_SYSTEMS, OID_INSURANCE):
            raise _refuse(
                f"{path}.system",
                _("The identifier system %(system)s is not supported (use the national OIDs).")
                % {"system": system[:100] or "-"},
            )
        if not value:
            raise FhirError(422, "required", _("An identifier needs a value."), expression=f"{path}.value")
        key = "local" if system in LOCAL_SYSTEMS else system
        if len(value) > (32 if system == OID_INSURANCE else 40):
            raise FhirError(422, "value", _("The identifier is too long."), expression=f"{path}.value")
        if key in values:
            raise _refuse(path, _("Only one identifier of this kind is kept per registration."))
        if system == OID_ID_NUMBER:
            try:
                value = idnumbers.parse(value).value
            except InvalidInput as exc:
                raise FhirError(422, "value", str(exc.message), expression=f"{path}.value") from None
        values[key] = value
        if key == "local":
            values["local_system"] = system
    return values


def _scalar_checks(resource: dict[str, Any]) -> None:
    if resource.get("active") is False:
        raise _refuse("Patient.active", _("An inactive Patient cannot be registered."))
    for i, name in enumerate((resource.get("name") or [])[1:], start=1):
        text = name.get("text") or " ".join([name.get("family") or "", *(name.get("given") or [])])
        if not text.isascii():
            raise _refuse(
                f"Patient.name[{i}]", _("Only one name is kept; a second name may only be its pinyin.")
            )
    phones = list(resource.get("telecom") or [])
    for i, telecom in enumerate(phones):
        if telecom.get("system") != "phone" or not telecom.get("value"):
            raise _refuse(f"Patient.telecom[{i}]", _("Only a phone number is kept."))
        if i > 0:
            raise _refuse(f"Patient.telecom[{i}]", _("Only one phone number is kept."))
    if len(resource.get("address") or []) > 1:
        raise _refuse("Patient.address[1]", _("Only one address is kept."))
    gender = resource.get("gender")
    if gender is not None and gender not in GENDER_IN:
        raise _refuse("Patient.gender", _("The gender %(g)s is not supported.") % {"g": str(gender)[:20]})
    birth = resource.get("birthDate")
    if birth is not None and len(str(birth)) != 10:
        raise _refuse("Patient.birthDate", _("A full birth date (year, month and day) is required."))


def _village_code(resource: dict[str, Any]) -> str:
    ref = (resource.get("managingOrganization") or {}).get("reference")
    if not ref:
        return ""
    code = reference_id(str(ref), "Organization")
    inst = Institution.objects.filter(code=code).first() if code else None
    if inst is None:
        raise FhirError(
            422,
            "not-found",
            _("The reference %(ref)s does not resolve.") % {"ref": str(ref)[:100]},
            expression="Patient.managingOrganization",
        )
    if inst.kind != InstitutionKind.VILLAGE_CLINIC:
        raise _refuse(
            "Patient.managingOrganization", _("The managing organization must be a village clinic.")
        )
    return inst.code


def _address_from(resource: dict[str, Any]) -> str:
    addresses = resource.get("address") or []
    if not addresses:
        return ""
    a = addresses[0]
    if a.get("text"):
        return str(a["text"])
    parts = [a.get(k) or "" for k in ("state", "city", "district")] + list(a.get("line") or [])
    return "".join(str(p) for p in parts)


def entry_from(resource: dict[str, Any]) -> tuple[Entry, str]:
    """A Patient resource as a master-index entry, and the system of its local number."""
    _scalar_checks(resource)
    ids = _identifiers_from(resource)
    birth = resource.get("birthDate")
    entry = Entry(
        name=_name_from(resource),
        sex=GENDER_IN.get(str(resource.get("gender") or "unknown"), ""),
        birth_date=dt.date.fromisoformat(birth) if birth else None,
        id_number=ids.get(OID_ID_NUMBER, ""),
        phone=str(((resource.get("telecom") or [{}])[0]).get("value") or ""),
        address=_address_from(resource),
        village_code=_village_code(resource),
        local_number=ids.get("local", ""),
        insurance_number=ids.get(OID_INSURANCE, ""),
    )
    return entry, ids.get("local_system", "")
