"""The demo county's family doctors: the standard packages, a team for every village clinic
(its village doctor, or a township physician where the clinic has none, with a nurse and a
public-health worker of the township centre; every third team has a county specialist: "1+1+1"),
and a year of contracts.

Packages and teams go through the services (a few hundred rows, audited). Contracts, their plans
and their history are inserted set-based (``chronic.bulk``: COPY on PostgreSQL, executemany on
SQLite, keys assigned here; one ``familydoctor.demo_load`` audit row records the counts, and
``familydoctor_changed`` names every team's and village's cells), following the national
picture: about 40 % of residents signed, priority groups about 75 %. Hypertension and diabetes
come from the chronic registers (generated before: an active entry diagnosed by the contract's
start, as ``chronic.priority.registry_groups`` answers a live signing), so that the coverage of
those groups counts residents of their registers; age groups come from the birth date; the other
groups are drawn at their usual prevalence, as staff would tick them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

from yigongti.chronic import bulk
from yigongti.chronic.models import Enrollment
from yigongti.core.audit import audit
from yigongti.familydoctor import services
from yigongti.familydoctor.choices import (
    BedStatus,
    Channel,
    ContractStatus,
    PackageKind,
    TaskStatus,
    TeamRole,
    VisitStatus,
)
from yigongti.familydoctor.hooks import age_groups, age_on
from yigongti.familydoctor.models import Contract, HomeBed, HomeVisit, ServicePackage, Task, Team
from yigongti.familydoctor.signals import send_changed
from yigongti.institutions.models import Institution, Staff
from yigongti.patients.models import Patient

from .people import HEAD
from .structure import County

#: (code, name, kind, group, price, insurance share, description, items (name, times a year, at home))
PACKAGES: list[tuple[str, str, str, str, str, str, str, list[tuple[str, int, bool]]]] = [
    (
        "BASIC",
        "基础服务包",
        PackageKind.BASIC,
        "",
        "120",
        "120",
        "基本医疗与基本公共卫生服务：健康档案、健康评估、健康教育、预约转诊",
        [("年度健康评估", 1, False), ("健康教育与咨询", 2, False), ("健康档案更新", 1, False)],
    ),
    (
        "HTN",
        "高血压个性化包",
        PackageKind.PERSONALISED,
        "hypertension",
        "150",
        "100",
        "按《国家基本公共卫生服务规范》每年至少4次面对面随访",
        [("高血压面对面随访", 4, False), ("血脂、肾功能检查", 1, False), ("上门随访", 1, True)],
    ),
    (
        "DM",
        "糖尿病个性化包",
        PackageKind.PERSONALISED,
        "diabetes",
        "180",
        "120",
        "每年至少4次面对面随访，每次测空腹血糖",
        [
            ("糖尿病面对面随访（空腹血糖）", 4, False),
            ("糖化血红蛋白检测", 1, False),
            ("眼底与足部检查", 1, False),
        ],
    ),
    (
        "ELDER",
        "老年人个性化包",
        PackageKind.PERSONALISED,
        "elderly",
        "100",
        "80",
        "65岁及以上：每年一次健康管理服务、中医药健康管理",
        [
            ("老年人健康体检", 1, False),
            ("中医体质辨识", 1, False),
            ("自理能力评估", 1, False),
            ("上门巡诊", 2, True),
        ],
    ),
    (
        "MATERNAL",
        "孕产妇个性化包",
        PackageKind.PERSONALISED,
        "pregnant",
        "200",
        "150",
        "孕期5次检查、产后访视与42天健康检查",
        [("孕期检查", 5, False), ("产后访视", 1, True), ("产后42天健康检查", 1, False)],
    ),
    (
        "CHILD",
        "0-6岁儿童个性化包",
        PackageKind.PERSONALISED,
        "child",
        "100",
        "80",
        "儿童健康管理与预防接种提醒",
        [("儿童健康检查", 2, False), ("预防接种提醒", 4, False), ("生长发育评估", 1, False)],
    ),
]

SIGN_RATE_PRIORITY = 0.76
SIGN_RATE_OTHER = 0.27
DONE_RATE = 0.82


def _packages() -> dict[str, ServicePackage]:
    made = {}
    for code, name, kind, group, price, share, desc, items in PACKAGES:
        made[code] = services.package_create(
            actor=None,
            code=code,
            name=name,
            kind=kind,
            target_group=group,
            price=Decimal(price),
            insurance_share=Decimal(share),
            description=desc,
            items=items,
        )
    return made


def _pick(staff: list[Staff], professions: tuple[str, ...], rng: random.Random) -> Staff | None:
    found = [s for s in staff if s.profession in professions]
    return rng.choice(found) if found else None


def _teams(county: County, rng: random.Random) -> dict[int, Team]:
    """One team per village clinic, keyed by the village's id."""
    staff_of: dict[int, list[Staff]] = {}
    for s in Staff.objects.filter(is_active=True).order_by("pk"):
        staff_of.setdefault(s.institution_id, []).append(s)
    with_login = Staff.objects.filter(user__username__in=["village_doctor", "nurse"]).select_related("user")
    logins = {s.user.username: s for s in with_login if s.user is not None}
    specialists = [s for s in staff_of.get(county.lead.pk, []) if s.profession == "physician"]
    teams: dict[int, Team] = {}
    n = 0
    for town in county.townships:
        town_staff = staff_of.get(town.pk, [])
        for village in Institution.objects.filter(parent=town).order_by("code"):
            n += 1
            doctor = _pick(staff_of.get(village.pk, []), ("village_doctor", "assistant_physician"), rng)
            base: Institution = village
            if village.pk == county.demo_village.pk and "village_doctor" in logins:
                doctor = logins["village_doctor"]
            if doctor is None:
                doctor, base = _pick(town_staff, ("physician", "assistant_physician"), rng), town
            nurse = logins["nurse"] if town.pk == county.townships[0].pk and "nurse" in logins else None
            nurse = nurse or _pick(town_staff, ("nurse",), rng)
            ph = _pick(town_staff, ("public_health",), rng)
            if doctor is None or nurse is None or ph is None:
                continue
            members = [
                (doctor, TeamRole.FAMILY_DOCTOR),
                (nurse, TeamRole.NURSE),
                (ph, TeamRole.PUBLIC_HEALTH),
            ]
            if n % 3 == 1 and specialists:
                members.append((rng.choice(specialists), TeamRole.SPECIALIST))
            teams[village.pk] = services.team_create(
                actor=None,
                code=f"FD{village.code[-6:]}",
                name=f"{village.name}家庭医生团队",
                institution=base,
                villages=[village],
                members=members,
            )
    return teams


def _registers() -> dict[int, list[tuple[str, dt.date]]]:
    """Active register entries by resident: (programme, diagnosed on)."""
    out: dict[int, list[tuple[str, dt.date]]] = {}
    for pk, programme, diagnosed in Enrollment.objects.filter(
        is_active=True, programme__in=["hypertension", "diabetes"]
    ).values_list("patient_id", "programme", "diagnosed_on"):
        out.setdefault(pk, []).append((programme, diagnosed))
    return out


def _groups(
    p: Any, on: dt.date, rng: random.Random, registers: dict[int, list[tuple[str, dt.date]]]
) -> list[str]:
    groups = age_groups(p.birth_date, on)
    age = age_on(p.birth_date, on) if p.birth_date else 40
    groups |= {programme for programme, diagnosed in registers.get(p.pk, ()) if diagnosed <= on}
    if p.sex == "F" and 20 <= age <= 40 and rng.random() < 0.04:
        groups.add("pregnant")
    for code, share in (("disabled", 0.025), ("poor", 0.04), ("mental", 0.004), ("tuberculosis", 0.001)):
        if rng.random() < share:
            groups.add(code)
    order = [
        "elderly",
        "hypertension",
        "diabetes",
        "pregnant",
        "child",
        "disabled",
        "poor",
        "mental",
        "tuberculosis",
    ]
    return [g for g in order if g in groups]


PACKAGE_OF_GROUP = {
    "hypertension": "HTN",
    "diabetes": "DM",
    "elderly": "ELDER",
    "pregnant": "MATERNAL",
    "child": "CHILD",
}


def _login_patient(as_of: dt.date) -> int | None:
    """The patient the generator gives the ``resident`` login to after the domain steps (the first
    household head with an ID number and a phone, aged 30 to 65; as ``residents`` chooses)."""
    heads = (
        Patient.objects.filter(relation_to_head=HEAD, id_number__isnull=False)
        .exclude(phone="")
        .order_by("pk")
        .only("pk", "birth_date")[:500]
    )
    for p in heads:
        if p.birth_date and 30 <= age_on(p.birth_date, as_of) <= 65:
            return p.pk
    return None


class _Plan:
    def __init__(self) -> None:
        self.contracts: list[dict[str, Any]] = []
        self.packs: list[list[ServicePackage]] = []
        self.villages: list[int | None] = []  # each contract's resident's village clinic


def _contract(
    p: Any, start: dt.date, groups: list[str], mine: bool, rng: random.Random, as_of: dt.date
) -> tuple[dict[str, Any], dt.date]:
    status = ContractStatus.ACTIVE
    roll = rng.random()
    if not mine and roll < 0.02:
        status = ContractStatus.PENDING
        start = as_of + dt.timedelta(days=rng.randint(0, 6))
    elif not mine and roll < 0.04:
        status = ContractStatus.TERMINATED
    elif not mine and roll < 0.07:  # last year's term, not renewed
        status = ContractStatus.EXPIRED
        start = start - dt.timedelta(days=365)
    end = services.add_years(start, 1) - dt.timedelta(days=1)
    c: dict[str, Any] = {
        "patient_id": p.pk,
        "status": status,
        "channel": Channel.ONLINE if rng.random() < 0.18 else Channel.CLINIC,
        "start_date": start,
        "end_date": end,
        "priority_groups": groups,
        "is_priority": bool(groups),
        "confirmed_on": None if status == ContractStatus.PENDING else start,
        "paper_signature": status != ContractStatus.PENDING and rng.random() < 0.6,
        "ended_on": None,
        "end_reason": "",
    }
    if status == ContractStatus.TERMINATED:
        c["ended_on"] = min(as_of, start + dt.timedelta(days=rng.randint(30, 300)))
        c["end_reason"] = rng.choice(["迁出本县", "本人要求解约", "死亡"])
    elif status == ContractStatus.EXPIRED:
        c["ended_on"] = end
    return c, start


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    rng = random.Random(f"{seed}/familydoctor")
    packages = _packages()
    teams = _teams(county, rng)
    counts: Counter[str] = Counter(packages=len(packages), teams=len(teams))
    resident_login = _login_patient(as_of)
    plan = _Plan()
    registers = _registers()
    rows = Patient.objects.filter(merged_into__isnull=True, village_id__in=list(teams)).only(
        "pk", "birth_date", "sex", "village_id"
    )
    for p in rows.order_by("pk").iterator(chunk_size=5000):
        start = as_of - dt.timedelta(days=rng.randint(0, 364))
        groups = _groups(p, start, rng, registers)
        mine = p.pk == resident_login
        if not mine and rng.random() >= (SIGN_RATE_PRIORITY if groups else SIGN_RATE_OTHER):
            continue
        if mine:  # the demo login: hypertension (a personalised package), plus her age group if any
            groups = [g for g in ("elderly", "hypertension") if g == "hypertension" or g in groups]
        c, start = _contract(p, start, groups, mine, rng, as_of)
        packs = [packages["BASIC"], *(packages[PACKAGE_OF_GROUP[g]] for g in groups if g in PACKAGE_OF_GROUP)]
        c.update(
            team_id=teams[p.village_id or 0].pk,
            fee=sum((x.price for x in packs), Decimal("0")),
            resident_fee=sum((x.resident_pays for x in packs), Decimal("0")),
        )
        plan.contracts.append(c)
        plan.packs.append(packs)
        plan.villages.append(p.village_id)
    for pk, c in zip(bulk.next_ids(Contract, len(plan.contracts)), plan.contracts, strict=True):
        c["id"], c["number"] = pk, f"QY{c['start_date']:%Y}{pk:08d}"
    bulk.insert(Contract, plan.contracts, with_id=True)
    bulk.reset_sequence(Contract)
    through = Contract.packages.through
    bulk.insert(
        through,
        (
            {"contract_id": c["id"], "servicepackage_id": x.pk}
            for c, packs in zip(plan.contracts, plan.packs, strict=True)
            for x in packs
        ),
    )
    counts.update(contracts=len(plan.contracts), priority=sum(1 for c in plan.contracts if c["is_priority"]))
    counts["tasks"], counts["tasks_done"] = _tasks(plan, as_of, rng)
    counts.update(_visits_and_beds(plan, as_of, rng))
    institutions = {t.institution_id for t in teams.values()} | set(teams)
    send_changed({(inst, None) for inst in institutions})  # every month of every team and village
    audit(actor=None, verb="familydoctor.demo_load", subject=county.consortium, after=dict(counts))
    return dict(counts)


def _tasks(plan: _Plan, as_of: dt.date, rng: random.Random) -> tuple[int, int]:
    items = {
        p.pk: [(i.pk, i.times_per_year) for i in p.items.all()]
        for p in ServicePackage.objects.prefetch_related("items")
    }
    tasks: list[dict[str, Any]] = []
    done = 0
    for c, packs, village in zip(plan.contracts, plan.packs, plan.villages, strict=True):
        if c["status"] == ContractStatus.PENDING:
            continue
        last = c["ended_on"] or as_of
        terminated = c["status"] == ContractStatus.TERMINATED
        for package in packs:
            for item_id, times in items[package.pk]:
                for due in services.due_dates(c["start_date"], c["end_date"], times):
                    t: dict[str, Any] = {
                        "contract_id": c["id"],
                        "item_id": item_id,
                        "due_on": due,
                        "village_id": village,
                    }
                    if due <= last and rng.random() < DONE_RATE:
                        t["status"] = TaskStatus.DONE
                        t["done_on"] = max(c["start_date"], due - dt.timedelta(days=rng.randint(0, 40)))
                        t["result"] = "已完成"
                        done += 1
                    elif terminated:  # terminating cancels what was still open
                        t["status"] = TaskStatus.CANCELLED
                    else:
                        t["status"] = TaskStatus.OPEN
                    tasks.append(t)
    bulk.insert(Task, tasks)
    return len(tasks), done


def _visit(c: dict[str, Any], day: dt.date, purpose: str, status: str, note: str) -> dict[str, Any]:
    done = status == VisitStatus.DONE
    return {
        "contract_id": c["id"],
        "scheduled_on": day,
        "purpose": purpose,
        "status": status,
        "done_on": day if done else None,
        "note": note if done else "",
    }


def _visits_and_beds(plan: _Plan, as_of: dt.date, rng: random.Random) -> dict[str, int]:
    visits: list[dict[str, Any]] = []
    beds: list[dict[str, Any]] = []
    for c in plan.contracts:
        if c["status"] != ContractStatus.ACTIVE or not ({"elderly", "disabled"} & set(c["priority_groups"])):
            continue
        roll = rng.random()
        if roll < 0.15:
            day = c["start_date"] + dt.timedelta(days=rng.randint(10, 60))
            while day <= as_of + dt.timedelta(days=14):
                past = day <= as_of
                purpose = rng.choice(["上门巡诊", "测血压、用药指导", "康复指导"])
                status = (
                    (VisitStatus.DONE if rng.random() < 0.9 else VisitStatus.MISSED)
                    if past
                    else VisitStatus.SCHEDULED
                )
                visits.append(_visit(c, day, purpose, status, "生命体征平稳"))
                day += dt.timedelta(days=rng.randint(45, 100))
        elif roll < 0.17:
            admitted = max(c["start_date"], as_of - dt.timedelta(days=rng.randint(5, 200)))
            open_bed = rng.random() < 0.4
            discharged = None if open_bed else min(as_of, admitted + dt.timedelta(days=rng.randint(14, 60)))
            bed = {
                "contract_id": c["id"],
                "admitted_on": admitted,
                "discharged_on": discharged,
                "reason": rng.choice(
                    ["脑卒中后遗症康复", "晚期肿瘤姑息治疗", "慢性阻塞性肺疾病", "长期卧床压疮护理"]
                ),
                "status": BedStatus.OPEN if open_bed else BedStatus.DISCHARGED,
                "discharge_note": "" if open_bed else "病情稳定，撤床",
            }
            beds.append(bed)
            day, stop = admitted, discharged or as_of + dt.timedelta(days=7)
            while day <= stop:
                status = VisitStatus.DONE if day <= as_of else VisitStatus.SCHEDULED
                visits.append(_visit(c, day, "家庭病床查床", status, "查床、换药") | {"home_bed": bed})
                day += dt.timedelta(days=7)
    for pk, bed in zip(bulk.next_ids(HomeBed, len(beds)), beds, strict=True):
        bed["id"] = pk
    bulk.insert(HomeBed, beds, with_id=True)
    bulk.reset_sequence(HomeBed)
    for v in visits:
        if "home_bed" in v:
            v["home_bed_id"] = v.pop("home_bed")["id"]
    bulk.insert(HomeVisit, visits)
    return {"home_visits": len(visits), "home_beds": len(beds)}
