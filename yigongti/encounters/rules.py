"""The rules one encounter must meet, shared by the single write (``services``) and the bulk path
(``bulk``): plain values in, the row's column values out, or ``InvalidInput`` naming the field.

Nothing here reads the database: the callers look up the patient, institution and department
(one query per row, or one per chunk) and pass what the rules need as small records.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import Level

from .choices import EncounterKind, EncounterSource
from .codes import normalize_diagnosis

MONEY = Decimal("0.01")
MAX_MONEY = Decimal("9999999999.99")
_AREA = re.compile(r"^[1-9][0-9]{5}$")

#: The columns a write sets, in the order the bulk writer copies them.
COLUMNS = (
    "patient_id",
    "institution_id",
    "department_id",
    "kind",
    "started_at",
    "admitted_on",
    "discharged_on",
    "bed_days",
    "is_tcm",
    "total_cost",
    "insurance_paid",
    "out_of_pocket",
    "diagnosis_code",
    "residence_county_code",
    "in_county",
    "facility_name",
    "facility_area_code",
    "source",
    "source_system",
    "external_id",
)


@dataclass(frozen=True, slots=True)
class Place:
    """What the rules need of an institution."""

    pk: int
    level: str
    area_code: str


@dataclass(frozen=True, slots=True)
class Person:
    """What the rules need of a patient: the id and the county of the village they live in."""

    pk: int
    county_code: str


def _invalid(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, field=field)


def money(value: Any, field: str) -> Decimal | None:
    """A non-negative amount in yuan with at most two decimals; None stays None."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise _invalid(_("The amount is not a number."), field) from None
    if not amount.is_finite():
        raise _invalid(_("The amount is not a number."), field)
    if amount < 0:
        raise _invalid(_("An amount may not be negative."), field)
    if amount > MAX_MONEY:
        raise _invalid(_("The amount is too large."), field)
    if amount != amount.quantize(MONEY):
        raise _invalid(_("An amount has at most two decimals (fen)."), field)
    return amount.quantize(MONEY)


def _costs(total: Any, insurance: Any, own: Any) -> tuple[Decimal, Decimal, Decimal]:
    """Total, insurance-paid and out-of-pocket. A missing part is the total minus the other part;
    both missing: the patient paid it all. Given together, they must add up."""
    total_d = money(total, "total_cost")
    ins = money(insurance, "insurance_paid")
    oop = money(own, "out_of_pocket")
    if total_d is None:
        if ins is None and oop is None:
            raise _invalid(_("The total cost is required."), "total_cost")
        total_d = (ins or Decimal("0.00")) + (oop or Decimal("0.00"))
    if ins is None:
        ins = total_d - oop if oop is not None else Decimal("0.00")
        if ins < 0:
            raise _invalid(_("The out-of-pocket part is larger than the total cost."), "out_of_pocket")
    if oop is None:
        oop = total_d - ins
        if oop < 0:
            raise _invalid(_("The insurance part is larger than the total cost."), "insurance_paid")
    if ins + oop != total_d:
        raise _invalid(
            _("Insurance-paid (%(insurance)s) plus out-of-pocket (%(own)s) is not the total (%(total)s).")
            % {"insurance": ins, "own": oop, "total": total_d},
            "total_cost",
        )
    return total_d, ins, oop


def _stay(
    kind: str,
    started_at: dt.datetime,
    admitted_on: dt.date | None,
    discharged_on: dt.date | None,
    today: dt.date,
    source: str,
) -> tuple[dt.date | None, dt.date | None, int | None]:
    """Admission and discharge dates and bed days (inpatients only)."""
    if kind != EncounterKind.INPATIENT:
        if admitted_on is not None or discharged_on is not None:
            raise _invalid(_("Only an inpatient stay has admission and discharge dates."), "admitted_on")
        return None, None, None
    start_day = timezone.localtime(started_at).date()
    admitted_on = admitted_on or start_day
    if admitted_on != start_day:
        raise _invalid(_("The admission date must be the day the stay started."), "admitted_on")
    if discharged_on is None:
        if source == EncounterSource.INSURANCE:
            raise _invalid(
                _("Insurance settles only completed stays: the discharge date is required."), "discharged_on"
            )
        return admitted_on, None, None
    if discharged_on < admitted_on:
        raise _invalid(_("The discharge date is before the admission date."), "discharged_on")
    if discharged_on > today:
        raise _invalid(_("The discharge date is in the future."), "discharged_on")
    return admitted_on, discharged_on, max(1, (discharged_on - admitted_on).days)


def _where(
    place: Place | None,
    in_county: bool | None,
    facility_name: str,
    facility_area_code: str,
    county_code: str,
) -> tuple[bool, str, str]:
    """Inside or outside the county, and the outside hospital's name and area code."""
    facility_name = (facility_name or "").strip()[:100]
    facility_area_code = (facility_area_code or "").strip()
    if facility_area_code and not _AREA.match(facility_area_code):
        raise _invalid(_("An area code has six digits."), "facility_area_code")
    if place is None and not facility_name:
        raise _invalid(
            _("The institution is required (for a hospital outside the county, at least its name)."),
            "institution",
        )
    member = place is not None and place.level != Level.EXTERNAL
    if in_county is None:
        in_county = member
    if in_county and not member:
        raise _invalid(_("An encounter inside the county needs an institution of the county."), "institution")
    if not in_county and member:
        raise _invalid(_("This institution is inside the county."), "in_county")
    if not in_county and facility_area_code and facility_area_code == county_code:
        raise _invalid(_("The hospital's area code is the patient's own county."), "facility_area_code")
    return in_county, facility_name, facility_area_code


def clean(
    *,
    person: Person,
    place: Place | None,
    department: tuple[int, int] | None,
    kind: str,
    started_at: dt.datetime | None,
    admitted_on: dt.date | None = None,
    discharged_on: dt.date | None = None,
    is_tcm: bool = False,
    total_cost: Any = None,
    insurance_paid: Any = None,
    out_of_pocket: Any = None,
    diagnosis_code: str = "",
    residence_county_code: str = "",
    in_county: bool | None = None,
    facility_name: str = "",
    facility_area_code: str = "",
    source: str = EncounterSource.MANUAL,
    source_system: str = "",
    external_id: str = "",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The row's column values (see ``COLUMNS``), or ``InvalidInput`` for the first broken rule.

    ``department`` is ``(department id, its institution id)``. ``now`` is the instant that
    decides what "future" means (the caller's clock, passed once per import).
    """
    now = now or timezone.now()
    if kind not in EncounterKind.values:
        raise _invalid(_("Unknown kind of encounter."), "kind")
    if source not in EncounterSource.values:
        raise _invalid(_("Unknown source."), "source")
    if started_at is None and admitted_on is not None:
        started_at = timezone.make_aware(dt.datetime.combine(admitted_on, dt.time(8, 0)))
    if started_at is None:
        raise _invalid(_("The date and time of the encounter are required."), "started_at")
    if started_at.year < 1900:  # checked first: converting extreme dates between zones overflows
        raise _invalid(_("The date is too far in the past."), "started_at")
    if started_at.year > now.year + 1:
        raise _invalid(_("The encounter is dated in the future."), "started_at")
    if timezone.is_naive(started_at):
        started_at = timezone.make_aware(started_at)
    if started_at > now:
        raise _invalid(_("The encounter is dated in the future."), "started_at")
    today = timezone.localtime(now).date()
    admitted, discharged, bed_days = _stay(kind, started_at, admitted_on, discharged_on, today, source)
    if department is not None and (place is None or department[1] != place.pk):
        raise _invalid(_("The department is not one of this institution's."), "department")
    county = (residence_county_code or "").strip() or person.county_code
    if not county:
        raise _invalid(_("The patient's county of residence is unknown; give it."), "residence_county_code")
    if not _AREA.match(county):
        raise _invalid(_("An area code has six digits."), "residence_county_code")
    inside, facility, facility_area = _where(place, in_county, facility_name, facility_area_code, county)
    total, insurance, own = _costs(total_cost, insurance_paid, out_of_pocket)
    source_system = (source_system or "").strip()
    external_id = (external_id or "").strip()
    if len(source_system) > 40:
        raise _invalid(_("The source system's name is longer than 40 characters."), "source_system")
    if len(external_id) > 64:
        raise _invalid(_("The external id is longer than 64 characters."), "external_id")
    return {
        "patient_id": person.pk,
        "institution_id": place.pk if place else None,
        "department_id": department[0] if department else None,
        "kind": str(kind),
        "started_at": started_at,
        "admitted_on": admitted,
        "discharged_on": discharged,
        "bed_days": bed_days,
        "is_tcm": bool(is_tcm),
        "total_cost": total,
        "insurance_paid": insurance,
        "out_of_pocket": own,
        "diagnosis_code": normalize_diagnosis(diagnosis_code),
        "residence_county_code": county,
        "in_county": inside,
        "facility_name": facility,
        "facility_area_code": facility_area,
        "source": str(source),
        "source_system": source_system,
        "external_id": external_id,
    }
