"""Writes for institutions, departments, staff and secondments. The consortium office runs
them; the bureau and everyone else only read. Every write is audited in its transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core import idnumbers
from yigongti.core.access import scope_for
from yigongti.core.areacodes import is_valid_county_code
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput

from .choices import PARENT_KIND, DepartmentCategory, InstitutionKind, Profession, Sex, Title
from .models import Consortium, Department, Institution, Secondment, Staff


def _require_office(actor: Any, institution_id: int | None = None) -> Any:
    """The actor must be the consortium office (and see ``institution_id``); None is the system."""
    if actor is None:
        return None
    scope = scope_for(actor)
    scope.require(scope.manages_consortium, _("Only the consortium office may change this."))
    if institution_id is not None:
        scope.require(
            scope.sees_institution(institution_id), _("This institution is outside your consortium.")
        )
    return scope.membership


def validate_institution_code(code: str, kind: str, parent: Institution | None) -> None:
    """12 digits; the first six a county code; a clinic's code continues its township's."""
    if len(code) != 12 or not (code.isascii() and code.isdigit()):
        raise InvalidInput(_("An institution code has 12 digits."), field="code")
    if not is_valid_county_code(code[:6]):
        raise InvalidInput(_("The institution code does not start with a valid county code."), field="code")
    if kind == InstitutionKind.VILLAGE_CLINIC and parent is not None and code[:9] != parent.code[:9]:
        raise InvalidInput(
            _("A village clinic's code must start with its township centre's code."), field="code"
        )


@transaction.atomic
def consortium_create(*, actor: Any, code: str, name: str, county_code: str, county_name: str) -> Consortium:
    if actor is not None:
        raise InvalidInput(_("Consortia are created by the system administrator."))
    if not is_valid_county_code(county_code):
        raise InvalidInput(_("Not a valid county code."), field="county_code")
    consortium = Consortium.objects.create(
        code=code, name=name, county_code=county_code, county_name=county_name
    )
    audit(actor=actor, verb="consortium.create", subject=consortium, after=snapshot(consortium))
    return consortium


@transaction.atomic
def institution_create(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    consortium: Consortium | None = None,
    parent: Institution | None = None,
    short_name: str = "",
    township_name: str = "",
    external_level: str = "",
    address: str = "",
    phone: str = "",
) -> Institution:
    """Add an institution to the tree; its parent must be of the kind the tree requires."""
    membership = _require_office(actor, parent.pk if parent else None)
    if kind not in InstitutionKind.values:
        raise InvalidInput(_("Unknown kind of institution."), field="kind")
    validate_institution_code(code, kind, parent)
    allowed = PARENT_KIND[kind]
    if allowed is None and parent is not None:
        raise InvalidInput(_("This kind of institution has no parent."), field="parent")
    if allowed is not None and (parent is None or parent.kind not in allowed):
        raise InvalidInput(_("The parent institution is of the wrong kind."), field="parent")
    if kind in (InstitutionKind.EXTERNAL_HOSPITAL, InstitutionKind.HEALTH_BUREAU):
        consortium = None
    elif parent is not None:
        consortium = parent.consortium
    elif consortium is None:
        raise InvalidInput(_("A member institution belongs to a consortium."), field="consortium")
    if not name.strip():
        raise InvalidInput(_("A name is required."), field="name")
    try:
        with transaction.atomic():
            inst = Institution.objects.create(
                code=code,
                name=name.strip(),
                short_name=short_name.strip(),
                kind=kind,
                consortium=consortium,
                parent=parent,
                area_code=code[:6],
                township_name=township_name or (parent.township_name if parent else ""),
                external_level=external_level if kind == InstitutionKind.EXTERNAL_HOSPITAL else "",
                address=address,
                phone=phone,
            )
    except IntegrityError:
        raise Conflict(_("An institution with this code exists."), field="code") from None
    audit(actor=actor, verb="institution.create", subject=inst, after=snapshot(inst), membership=membership)
    return inst


@transaction.atomic
def department_create(
    *, actor: Any, institution: Institution, code: str, name: str, category: str, beds: int = 0
) -> Department:
    membership = _require_office(actor, institution.pk)
    code, name = code.strip(), name.strip()
    if not code:
        raise InvalidInput(_("A department code is required."), field="code")
    if not name:
        raise InvalidInput(_("A name is required."), field="name")
    if category not in DepartmentCategory.values:
        raise InvalidInput(_("Unknown department category."), field="category")
    if beds < 0:
        raise InvalidInput(_("Beds cannot be negative."), field="beds")
    try:
        with transaction.atomic():
            dept = Department.objects.create(
                institution=institution, code=code, name=name, category=category, beds=beds
            )
    except IntegrityError:
        raise Conflict(_("This department code is already used here."), field="code") from None
    audit(actor=actor, verb="department.create", subject=dept, after=snapshot(dept), membership=membership)
    return dept


@transaction.atomic
def department_set_beds(*, actor: Any, department: Department, beds: int) -> Department:
    membership = _require_office(actor, department.institution_id)
    if beds < 0:
        raise InvalidInput(_("Beds cannot be negative."), field="beds")
    before = snapshot(department, ["beds"])
    department.beds = beds
    department.save(update_fields=["beds", "updated_at"])
    audit(
        actor=actor,
        verb="department.set_beds",
        subject=department,
        before=before,
        after={"beds": beds},
        membership=membership,
    )
    return department


def _clean_staff_fields(institution: Institution, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise staff fields; an ID number fills in birth date and sex."""
    name = (data.get("name") or "").strip()
    if not name:
        raise InvalidInput(_("A name is required."), field="name")
    if any(ch.isdigit() for ch in name):
        raise InvalidInput(_("A name cannot contain digits."), field="name")
    if data.get("profession") not in Profession.values:
        raise InvalidInput(_("Unknown profession."), field="profession")
    if data.get("title", Title.NONE) not in Title.values:
        raise InvalidInput(_("Unknown professional title."), field="title")
    raw_id = (data.get("id_number") or "").strip()
    if raw_id:
        parsed = idnumbers.parse(raw_id)
        data["id_number"] = parsed.value
        if data.get("birth_date") not in (None, parsed.birth_date):
            raise InvalidInput(_("The birth date does not match the ID number."), field="birth_date")
        data["birth_date"] = parsed.birth_date
        if data.get("sex") and data["sex"] != parsed.sex:
            raise InvalidInput(_("The sex does not match the ID number."), field="sex")
        data["sex"] = parsed.sex
    else:
        data["id_number"] = None
    if data.get("sex") not in Sex.values:
        raise InvalidInput(_("Sex must be male or female."), field="sex")
    dept = data.get("department")
    if dept is not None and dept.institution_id != institution.pk:
        raise InvalidInput(_("The department belongs to another institution."), field="department")
    if not (data.get("employee_no") or "").strip():
        raise InvalidInput(_("An employee number is required."), field="employee_no")
    data["name"] = name
    return data


@transaction.atomic
def staff_create(*, actor: Any, institution: Institution, **fields: Any) -> Staff:
    """Register a staff member at a member institution."""
    membership = _require_office(actor, institution.pk)
    if institution.is_external:
        raise InvalidInput(_("Staff of external hospitals are not managed here."), field="institution")
    data = _clean_staff_fields(institution, dict(fields))
    try:
        with transaction.atomic():
            staff = Staff.objects.create(institution=institution, **data)
    except IntegrityError:
        raise Conflict(
            _("A staff member with this employee number or ID number exists."), field="employee_no"
        ) from None
    audit(actor=actor, verb="staff.create", subject=staff, after=snapshot(staff), membership=membership)
    return staff


@transaction.atomic
def staff_update(*, actor: Any, staff: Staff, **fields: Any) -> Staff:
    membership = _require_office(actor, staff.institution_id)
    before = snapshot(staff)
    current = {f: getattr(staff, f) for f in ("name", "sex", "profession", "title", "phone", "employee_no")}
    current["id_number"] = staff.id_number or ""
    current["department"] = staff.department
    current.update(fields)
    data = _clean_staff_fields(staff.institution, current)
    for key, value in data.items():
        setattr(staff, key, value)
    try:
        with transaction.atomic():
            staff.save()
    except IntegrityError:
        raise Conflict(
            _("A staff member with this employee number or ID number exists."), field="employee_no"
        ) from None
    audit(
        actor=actor,
        verb="staff.update",
        subject=staff,
        before=before,
        after=snapshot(staff),
        membership=membership,
    )
    return staff


@transaction.atomic
def secondment_create(
    *, actor: Any, staff: Staff, host: Institution, start_date: dt.date, end_date: dt.date, purpose: str = ""
) -> Secondment:
    """Station a staff member at another member for a period; periods of one person may not overlap."""
    membership = _require_office(actor, host.pk)
    if host.pk == staff.institution_id:
        raise InvalidInput(_("A secondment must be to another institution."), field="host")
    if host.is_external or host.consortium_id != staff.institution.consortium_id:
        raise InvalidInput(_("The host must be a member of the same consortium."), field="host")
    if end_date < start_date:
        raise InvalidInput(_("The end date is before the start date."), field="end_date")
    if (end_date - start_date).days > 366 * 3:
        raise InvalidInput(_("A secondment lasts at most three years."), field="end_date")
    overlapping = Secondment.objects.select_for_update().filter(
        staff=staff, start_date__lte=end_date, end_date__gte=start_date
    )
    for other in overlapping:
        if other.effective_end >= start_date:
            raise Conflict(_("This staff member is already seconded during this period."), field="start_date")
    secondment = Secondment.objects.create(
        staff=staff,
        home_id=staff.institution_id,
        host=host,
        start_date=start_date,
        end_date=end_date,
        purpose=purpose.strip()[:200],
    )
    audit(
        actor=actor,
        verb="secondment.create",
        subject=secondment,
        after=snapshot(secondment),
        membership=membership,
    )
    return secondment


@transaction.atomic
def secondment_end_early(*, actor: Any, secondment: Secondment, on: dt.date) -> Secondment:
    membership = _require_office(actor, secondment.host_id)
    if secondment.ended_early_on is not None:
        raise Conflict(_("This secondment has already ended."))
    if not (secondment.start_date <= on < secondment.end_date):
        raise InvalidInput(
            _("The end must fall within the secondment and before its planned end."), field="on"
        )
    before = snapshot(secondment, ["ended_early_on"])
    secondment.ended_early_on = on
    secondment.save(update_fields=["ended_early_on", "updated_at"])
    audit(
        actor=actor,
        verb="secondment.end_early",
        subject=secondment,
        before=before,
        after={"ended_early_on": on},
        membership=membership,
    )
    return secondment
