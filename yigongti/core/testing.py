"""A small county for tests: one consortium, a few members, one user per role.

Built only through the services, like real data, so tests exercise the same validation and audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from yigongti.accounts.choices import Role
from yigongti.accounts.models import User
from yigongti.accounts.services import membership_grant, user_create
from yigongti.core import idnumbers
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.models import Consortium, Institution, Staff

PASSWORD = "Test-pass-2024!"  # noqa: S105 - test fixture


@dataclass
class SmallCounty:
    consortium: Consortium
    lead: Institution
    tcm: Institution
    bureau: Institution
    township: Institution
    other_township: Institution
    village: Institution
    other_village: Institution
    foreign_village: Institution
    external: Institution
    users: dict[str, User] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    patients: dict[str, Any] = field(default_factory=dict)


def build_small_county() -> SmallCounty:
    c = inst.consortium_create(
        actor=None, code="441823001", name="阳山县医共体总医院", county_code="441823", county_name="阳山县"
    )
    lead = inst.institution_create(
        actor=None,
        code="441823000001",
        name="阳山县人民医院",
        short_name="县人民医院",
        kind=K.LEAD_HOSPITAL,
        consortium=c,
    )
    tcm = inst.institution_create(
        actor=None,
        code="441823000002",
        name="阳山县中医院",
        short_name="县中医院",
        kind=K.TCM_HOSPITAL,
        parent=lead,
    )
    bureau = inst.institution_create(
        actor=None, code="441823000900", name="阳山县卫生健康局", kind=K.HEALTH_BUREAU
    )
    town = inst.institution_create(
        actor=None,
        code="441823101000",
        name="阳城镇卫生院",
        kind=K.TOWNSHIP_CENTRE,
        parent=lead,
        township_name="阳城镇",
    )
    town2 = inst.institution_create(
        actor=None,
        code="441823102000",
        name="黎埠镇卫生院",
        kind=K.TOWNSHIP_CENTRE,
        parent=lead,
        township_name="黎埠镇",
    )
    village = inst.institution_create(
        actor=None, code="441823101001", name="阳城镇东山村卫生站", kind=K.VILLAGE_CLINIC, parent=town
    )
    village2 = inst.institution_create(
        actor=None, code="441823101002", name="阳城镇西岭村卫生站", kind=K.VILLAGE_CLINIC, parent=town
    )
    foreign = inst.institution_create(
        actor=None, code="441823102001", name="黎埠镇水井村卫生站", kind=K.VILLAGE_CLINIC, parent=town2
    )
    external = inst.institution_create(
        actor=None,
        code="440104000001",
        name="广东省人民医院",
        kind=K.EXTERNAL_HOSPITAL,
        external_level="provincial",
    )
    county = SmallCounty(c, lead, tcm, bureau, town, town2, village, village2, foreign, external)
    where = {
        Role.CONSORTIUM_OFFICE: lead,
        Role.HEALTH_BUREAU: bureau,
        Role.COUNTY_DOCTOR: lead,
        Role.TOWNSHIP_DOCTOR: town,
        Role.VILLAGE_DOCTOR: village,
        Role.NURSE: town,
        Role.PHARMACIST: lead,
        Role.DISPATCHER: lead,
        Role.RESIDENT: village,
    }
    for role, institution in where.items():
        user = user_create(actor=None, username=f"t_{role}", password=PASSWORD, full_name=f"测试{role}")
        membership_grant(actor=None, user=user, institution=institution, role=role)
        county.users[role] = user
    dept = inst.department_create(
        actor=None, institution=lead, code="NK", name="内科", category="internal_medicine", beds=40
    )
    county.staff["county_doctor"] = inst.staff_create(
        actor=None,
        institution=lead,
        department=dept,
        employee_no="L0001",
        name="李建国",
        sex="M",
        id_number=idnumbers.build("441823", dt.date(1975, 3, 9), 11),
        profession="physician",
        title="associate_senior",
    )
    county.staff["village_doctor"] = inst.staff_create(
        actor=None,
        institution=village,
        employee_no="V0001",
        name="黄秀英",
        sex="F",
        profession="village_doctor",
    )
    return county


def add_resident_record(county: SmallCounty) -> Any:
    """Give the resident login a record at the village clinic (陈桂芳, born 1950, in a household),
    registered through the service like any resident, so it has its name search keys."""
    from yigongti.patients.models import Household
    from yigongti.patients.services import patient_create

    household = Household.objects.create(code="4418231010010001", village=county.village, address="东山村3号")
    patient = patient_create(
        actor=None,
        village=county.village,
        health_record_number="44182310100100001",
        id_number=idnumbers.build("441823", dt.date(1950, 6, 1), 21),
        name="陈桂芳",
        sex="F",
        birth_date=dt.date(1950, 6, 1),
        household=household,
        user=county.users[Role.RESIDENT],
    )
    county.patients["resident"] = patient
    return patient


def make_patient(
    village: Institution,
    seq: int,
    name: str,
    birth: dt.date,
    *,
    household: Any = None,
    user: Any = None,
    sex: str = "F",
) -> Any:
    """Setup data only, for view tests: a resident whose numbers follow the village's code (the
    first of a village is head of household), with the name search keys every registration
    writes. Tests of registration itself use the services."""
    from yigongti.patients.models import Patient
    from yigongti.patients.services import patient_name_keys_write

    patient = Patient.objects.create(
        health_record_number=f"{village.code}{seq:05d}",
        id_number=idnumbers.build("441823", birth, seq),
        name=name,
        sex=sex,
        birth_date=birth,
        household=household,
        village=village,
        user=user,
        relation_to_head="户主" if seq == 1 else "",
    )
    patient_name_keys_write(patient=patient)
    return patient
