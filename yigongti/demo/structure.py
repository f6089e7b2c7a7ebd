"""The county's institutions, departments, staff, secondments and demo logins.

A few thousand rows, so everything goes through the ordinary services with ``actor=None`` (the
system): the demo data passes the same validation as real data and every row is audited.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from yigongti.accounts.choices import Role
from yigongti.accounts.models import User
from yigongti.accounts.services import membership_grant, user_create
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.models import Consortium, Department, Institution, Staff

from . import data
from .logins import DEMO_PASSWORD
from .people import BirthDates, IdAllocator, NameMaker, PhoneMaker

#: Staff ID numbers come from another block than residents' (see ``IdAllocator``).
STAFF_ID_BLOCK = (250, 500)
#: The profession mix (``data.PROFESSION_MIX``) of each county-level kind; the rest use "county".
MIX_OF_KIND: dict[str, str] = {
    K.TCM_HOSPITAL: "tcm_hospital",
    K.EMERGENCY_CENTRE: "emergency_centre",
    K.HEALTH_BUREAU: "health_bureau",
}


@dataclass
class County:
    """What the rest of the generator needs to know about the structure it built."""

    consortium: Consortium
    lead: Institution
    bureau: Institution
    emergency: Institution
    townships: list[Institution]
    villages: list[Institution]
    demo_village: Institution
    counts: Counter[str] = field(default_factory=Counter)


class LoginPost(NamedTuple):
    """Where a demo login works: role, username, profession, department code, title."""

    role: str
    username: str
    profession: str
    department: str | None
    title: str


class StructureBuilder:
    """Builds the county through the services; one instance per run."""

    def __init__(self, *, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(f"{seed}/structure")
        self.as_of = as_of
        self.names = NameMaker(self.rng)
        self.births = BirthDates(self.rng, as_of)
        self.phones = PhoneMaker(self.rng)
        self.ids = IdAllocator(data.COUNTY_CODE, STAFF_ID_BLOCK)
        self.counts: Counter[str] = Counter()

    # --- institutions -----------------------------------------------------------------------

    def build(self) -> County:
        consortium = inst.consortium_create(
            actor=None,
            code=data.CONSORTIUM_CODE,
            name=data.CONSORTIUM_NAME,
            county_code=data.COUNTY_CODE,
            county_name=data.COUNTY_NAME,
        )
        (suffix, name, short, kind), *members = data.COUNTY_INSTITUTIONS
        lead = self._institution(
            data.COUNTY_CODE + suffix, name, kind, short_name=short, consortium=consortium
        )
        county_level = {kind: lead}
        for suffix, name, short, kind in members:
            county_level[kind] = self._institution(
                data.COUNTY_CODE + suffix, name, kind, short_name=short, parent=lead
            )
        suffix, name, short = data.BUREAU
        bureau = self._institution(data.COUNTY_CODE + suffix, name, K.HEALTH_BUREAU, short_name=short)
        for code, name, short, level in data.EXTERNAL_HOSPITALS:
            self._institution(code, name, K.EXTERNAL_HOSPITAL, short_name=short, external_level=level)
        townships, villages = self._townships(lead)
        county = County(
            consortium=consortium,
            lead=lead,
            bureau=bureau,
            emergency=county_level[K.EMERGENCY_CENTRE],
            townships=townships,
            villages=villages,
            demo_village=villages[0],
        )
        self._staff_all(county, county_level)
        self._secondments(county)
        county.counts = self.counts
        return county

    def _institution(
        self, code: str, name: str, kind: str, *, parent: Institution | None = None, **extra: Any
    ) -> Institution:
        self.counts["institutions"] += 1
        return inst.institution_create(actor=None, code=code, name=name, kind=kind, parent=parent, **extra)

    def _townships(self, lead: Institution) -> tuple[list[Institution], list[Institution]]:
        townships: list[Institution] = []
        villages: list[Institution] = []
        for town in data.TOWNSHIPS:
            centre = self._institution(
                f"{data.COUNTY_CODE}{town.code}000",
                town.centre_name,
                K.TOWNSHIP_CENTRE,
                parent=lead,
                short_name=town.centre_name,
                township_name=town.name,
                address=f"{data.ADDRESS_PREFIX}{town.name}",
            )
            townships.append(centre)
            for index, village in enumerate(self._village_names(town.villages), start=1):
                villages.append(
                    self._institution(
                        f"{data.COUNTY_CODE}{town.code}{index:03d}",
                        f"{town.name}{village}村卫生站",
                        K.VILLAGE_CLINIC,
                        parent=centre,
                        short_name=f"{village}村卫生站",
                        address=f"{data.ADDRESS_PREFIX}{town.name}{village}村",
                    )
                )
        return townships, villages

    def _village_names(self, count: int) -> list[str]:
        """``count`` distinct two-character village names for one township."""
        seen: set[str] = set()
        names: list[str] = []
        while len(names) < count:
            name = self.rng.choice(data.VILLAGE_FIRST) + self.rng.choice(data.VILLAGE_SECOND)
            if name[0] != name[1] and name not in seen and name not in data.VILLAGE_AVOID:
                seen.add(name)
                names.append(name)
        return names

    # --- departments and staff --------------------------------------------------------------

    def _departments(
        self, institution: Institution, beds_total: int = 0
    ) -> list[tuple[data.DeptSpec, Department]]:
        made = []
        for spec in data.DEPARTMENTS_BY_KIND[institution.kind]:
            beds = spec.beds
            if institution.kind == K.TOWNSHIP_CENTRE:
                beds = round(beds_total * data.TOWNSHIP_BED_SHARES.get(spec.code, 0))
            dept = inst.department_create(
                actor=None,
                institution=institution,
                code=spec.code,
                name=spec.name,
                category=spec.category,
                beds=beds,
            )
            self.counts["departments"] += 1
            self.counts["beds"] += beds
            made.append((spec, dept))
        return made

    def _staff_all(self, county: County, county_level: dict[str, Institution]) -> None:
        town_of_demo = county.townships[0]
        posts: dict[int, list[LoginPost]] = {
            county.lead.pk: [
                LoginPost(Role.CONSORTIUM_OFFICE, "office", "management", "A01", "intermediate"),
                LoginPost(Role.COUNTY_DOCTOR, "county_doctor", "physician", "C01", "associate_senior"),
                LoginPost(Role.PHARMACIST, "pharmacist", "pharmacist", "M05", "intermediate"),
            ],
            county.bureau.pk: [LoginPost(Role.HEALTH_BUREAU, "bureau", "management", "A01", "intermediate")],
            county.emergency.pk: [LoginPost(Role.DISPATCHER, "dispatcher", "dispatcher", "E01", "none")],
            town_of_demo.pk: [
                LoginPost(Role.TOWNSHIP_DOCTOR, "township_doctor", "physician", "C01", "intermediate"),
                LoginPost(Role.NURSE, "nurse", "nurse", "C02", "junior"),
            ],
            county.demo_village.pk: [
                LoginPost(Role.VILLAGE_DOCTOR, "village_doctor", "village_doctor", None, "none")
            ],
        }
        for kind, institution in [*county_level.items(), (K.HEALTH_BUREAU, county.bureau)]:
            depts = self._departments(institution)
            mix = MIX_OF_KIND.get(kind, "county")
            size = data.STAFF_BY_KIND[kind]
            self._staff_for(institution, depts, size, mix, "county", posts.get(institution.pk, []))
        low, high = data.TOWNSHIP_STAFF_RANGE
        top_weight = max(t.weight for t in data.TOWNSHIPS)
        for town, centre in zip(data.TOWNSHIPS, county.townships, strict=True):
            size = low + round((high - low) * town.weight / top_weight)
            beds = 60 if "中心" in town.centre_name else 20 + 5 * self.rng.randint(0, 6)
            depts = self._departments(centre, beds)
            self._staff_for(centre, depts, size, "township", "township", posts.get(centre.pk, []))
        for village in county.villages:
            size = 1 if self.rng.random() < 0.45 else 2
            self._staff_for(village, [], size, "village", "village", posts.get(village.pk, []))

    def _staff_for(
        self,
        institution: Institution,
        depts: list[tuple[data.DeptSpec, Department]],
        size: int,
        mix: str,
        level: str,
        posts: list[LoginPost],
    ) -> None:
        """``size`` staff members; the demo logins' posts come first, then a realistic mix."""
        rng = self.rng
        by_code = {spec.code: dept for spec, dept in depts}
        for number in range(1, size + 1):
            post = posts[number - 1] if number <= len(posts) else None
            if post is not None:
                profession, title = post.profession, post.title
                department = by_code.get(post.department) if post.department else None
            else:
                profession = self._profession(mix)
                department = self._department_for(profession, depts)
                title = self._title(profession, level)
            age = self._staff_age(profession)
            birth = self.births.draw(age)
            sex = "F" if rng.random() < (0.92 if profession == "nurse" else 0.45) else "M"
            id_number, birth = self.ids.allocate(birth, sex)
            name = self.names.surname() + self.names.given(sex, birth.year)
            user = self._login(post, name, institution) if post is not None else None
            inst.staff_create(
                actor=None,
                institution=institution,
                department=department,
                employee_no=f"{number:05d}",
                name=name,
                sex=sex,
                id_number=id_number,
                profession=profession,
                title=title,
                phone=self.phones.number(),
                user=user,
            )
            self.counts["staff"] += 1

    def _profession(self, mix: str) -> str:
        if mix == "village":
            return "village_doctor" if self.rng.random() < 0.9 else "assistant_physician"
        pairs = data.PROFESSION_MIX[mix]
        return self.rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]

    def _department_for(
        self, profession: str, depts: list[tuple[data.DeptSpec, Department]]
    ) -> Department | None:
        fitting = [
            (spec, dept) for spec, dept in depts if spec.category in data.PROFESSION_CATEGORIES[profession]
        ]
        if not fitting:
            return None
        return self.rng.choices([d for _s, d in fitting], weights=[s.staff_weight for s, _d in fitting])[0]

    def _title(self, profession: str, level: str) -> str:
        key = "management" if profession in ("management", "dispatcher") else level
        pairs = data.TITLE_MIX[key]
        return self.rng.choices([t for t, _w in pairs], weights=[w for _t, w in pairs])[0]

    def _staff_age(self, profession: str) -> int:
        if profession == "village_doctor":
            return int(self.rng.triangular(32, 72, 56))  # village doctors are ageing
        return int(self.rng.triangular(23, 60, 36))

    def _login(self, post: LoginPost, full_name: str, institution: Institution) -> User:
        user = user_create(actor=None, username=post.username, password=DEMO_PASSWORD, full_name=full_name)
        membership_grant(actor=None, user=user, institution=institution, role=post.role)
        self.counts["logins"] += 1
        return user

    # --- doctors sent down ------------------------------------------------------------------

    def _secondments(self, county: County) -> None:
        """About 30 county doctors stationed at township centres for a year (派驻/下沉)."""
        hospitals = [K.LEAD_HOSPITAL, K.TCM_HOSPITAL, K.MATERNAL_CHILD]
        candidates = list(
            Staff.objects.filter(
                institution__consortium=county.consortium,
                institution__kind__in=hospitals,
                profession__in=["physician", "tcm_physician"],
                title__in=["intermediate", "associate_senior", "senior"],
                user__isnull=True,
            ).order_by("institution__code", "employee_no")
        )
        chosen = self.rng.sample(candidates, min(data.SECONDED_DOCTORS, len(candidates)))
        hosts = list(county.townships)
        self.rng.shuffle(hosts)
        for index, staff in enumerate(chosen):
            start = self.as_of - dt.timedelta(days=self.rng.randint(15, 330))
            inst.secondment_create(
                actor=None,
                staff=staff,
                host=hosts[index % len(hosts)],
                start_date=start,
                end_date=start + dt.timedelta(days=364),
                purpose="县级医院医师下沉帮扶",
            )
            self.counts["secondments"] += 1
