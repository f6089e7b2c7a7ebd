"""The demo county's year of referrals in every state, through the referral services.

Yangshan counted 1,031 upward and 1,152 downward referrals in a year for about 400,000 people;
at the demo's scale that would be a few dozen, too few to show every worklist and state, so the
demo makes one referral per 60 residents (333 for the default 20,000; at least 40). Each referral
is written, submitted and moved by the system actor with backdated times (kept in each audit
row as ``after.at``), and stops either where its story ends (rejected, cancelled, not yet
followed up ...) or at the reference date: the last days' referrals are still waiting, some past
their acceptance deadline. A tenth come from the demo village and its township, so the demo
logins see their own worklists; some are green-channel cases holding beds; a few go out of the
county to the external hospitals.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F

from yigongti.core.errors import DomainError
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.choices import Level
from yigongti.institutions.models import Department, Institution
from yigongti.patients.models import Patient
from yigongti.referrals import services
from yigongti.referrals.models import FollowUpTask, GreenChannelKind, Referral, ReferralReason
from yigongti.referrals.signals import batched
from yigongti.scheduling.models import Slot

from .structure import County

TZ = ZoneInfo("Asia/Shanghai")
PER_RESIDENTS = 60
MIN_REFERRALS = 40
MAX_REFERRALS = 1500

#: (ICD-10, diagnosis, history) for referrals up, and for referrals down after hospital care.
UP = (
    ("I10", "高血压3级，血压控制不佳", "高血压病史8年，近两周血压波动在180/110 mmHg左右，伴头晕。"),
    ("E11.9", "2型糖尿病血糖控制不佳", "糖尿病史6年，空腹血糖反复高于13 mmol/L。"),
    ("J18.9", "社区获得性肺炎", "发热、咳嗽5天，口服抗生素3天无好转。"),
    ("K35.8", "急性阑尾炎", "转移性右下腹痛12小时，麦氏点压痛。"),
    ("N20.0", "输尿管结石", "左侧腰腹部绞痛，镜下血尿。"),
    ("C34.9", "肺部占位待查", "咳嗽、痰中带血1月，胸片示右肺占位。"),
    ("I50.9", "慢性心力衰竭急性加重", "活动后气促加重一周，双下肢水肿。"),
    ("K80.2", "胆囊结石伴胆囊炎", "反复右上腹痛，B超示胆囊多发结石。"),
    ("M17.9", "膝骨关节炎", "双膝疼痛3年，行走困难，需评估手术。"),
    ("O14.9", "妊娠期高血压疾病", "孕32周，血压160/105 mmHg，尿蛋白++。"),
)
GREEN = {
    "chest_pain": ("I21.9", "急性心肌梗死", "突发胸骨后压榨样疼痛1小时，心电图ST段抬高。"),
    "stroke": ("I63.9", "急性脑梗死", "突发左侧肢体无力、言语不清2小时。"),
    "trauma": ("S06.9", "颅脑外伤", "摩托车摔伤，意识模糊。"),
    "maternal": ("O72.1", "产后出血", "顺产后2小时阴道出血约800 ml。"),
    "neonatal": ("P07.3", "早产低体重儿", "孕31周早产，出生体重1.5 kg，呼吸急促。"),
    "poisoning": ("T60.0", "有机磷农药中毒", "口服敌敌畏约50 ml，30分钟前被发现。"),
}
DOWN = (
    ("I69.3", "脑梗死恢复期", "急性脑梗死住院治疗14天，病情稳定。"),
    ("I10", "高血压病", "住院调整降压方案后血压达标。"),
    ("E11.6", "2型糖尿病伴并发症", "胰岛素方案已确定，需长期随访。"),
    ("S72.0", "股骨颈骨折术后", "髋关节置换术后10天，需康复训练。"),
    ("J44.9", "慢性阻塞性肺疾病稳定期", "急性加重已控制，需家庭氧疗和随访。"),
    ("C16.9", "胃癌术后", "胃癌根治术后，化疗间歇期。"),
    ("I50.9", "慢性心力衰竭", "心衰纠正后出院，需基层随访用药。"),
    ("N18.9", "慢性肾脏病3期", "肾功能稳定，需控制血压和随访。"),
)
RETURN_ADVICE = (
    "按时服药，每两周测量血压，一月后门诊复查。",
    "低盐低脂饮食，监测血糖，两周内由村医随访。",
    "继续康复训练，如有不适及时就诊。",
    "定期复查血常规和肝肾功能，按医嘱调整用药。",
)
REJECT = (
    "床位已满，建议转县中医院",
    "病情不符合转诊指征，建议基层继续治疗",
    "缺少必要检查结果，请补充后再转",
)
CANCEL = ("患者及家属拒绝转诊", "患者病情好转，无需转诊", "患者自行前往外地医院")

#: Where a referral's story ends, and how often (the reference date may stop it earlier).
ENDINGS = (
    ("followed_up", 68),
    ("completed", 9),
    ("rejected", 6),
    ("cancelled", 5),
    ("in_care", 3),
    ("arrived", 2),
    ("accepted", 2),
    ("submitted", 2),
    ("redirected", 2),
    ("draft", 1),
)


@dataclass
class Places:
    county_level: list[Institution]
    lead: Institution
    tcm: Institution | None
    external: list[Institution]
    departments: dict[int, list[Department]]
    parent_of: dict[int, int]


def _places(county: County) -> Places:
    members = Institution.objects.filter(parent=county.lead, level=Level.COUNTY).exclude(
        kind__in=[K.EMERGENCY_CENTRE, K.HEALTH_BUREAU]
    )
    depts: dict[int, list[Department]] = {}
    for dept in Department.objects.filter(beds__gt=0).order_by("code"):
        depts.setdefault(dept.institution_id, []).append(dept)
    return Places(
        county_level=[county.lead, *members],
        lead=county.lead,
        tcm=next((m for m in members if m.kind == K.TCM_HOSPITAL), None),
        external=list(Institution.objects.filter(kind=K.EXTERNAL_HOSPITAL, is_active=True)),
        departments=depts,
        parent_of={v.pk: v.parent_id for v in county.villages if v.parent_id},
    )


class Generator:
    def __init__(self, county: County, *, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(f"{seed}/referrals")
        self.county = county
        self.anchor = dt.datetime.combine(as_of, dt.time(8, 0), tzinfo=TZ)
        self.places = _places(county)
        self.reasons_up = list(ReferralReason.objects.filter(direction="upward", is_active=True))
        self.reasons_down = list(ReferralReason.objects.filter(direction="downward", is_active=True))
        self.green = {g.code: g for g in GreenChannelKind.objects.filter(is_active=True)}
        self.counts: Counter[str] = Counter()
        self.townships = {t.pk: t for t in county.townships}

    # --- who goes where ---------------------------------------------------------------------

    def _patients(self, total: int) -> list[tuple[int, int]]:
        rows = list(
            Patient.objects.filter(merged_into__isnull=True, village__isnull=False)
            .order_by("pk")
            .values_list("pk", "village_id")
        )
        if not rows:
            return []
        own = [r for r in rows if r[1] == self.county.demo_village.pk]
        picked = self.rng.sample(rows, min(total, len(rows)))
        share = max(1, total // 10)
        return [*self.rng.sample(own, min(share, len(own))), *picked][:total]

    def _route(self, village_id: int) -> tuple[Institution, Institution, str]:
        """(from, to, kind) where kind is up / green / down / lateral / out."""
        roll = self.rng.random()
        township = self.townships.get(self.places.parent_of.get(village_id, 0))
        village = next((v for v in self.county.villages if v.pk == village_id), None)
        county_target = (
            self.places.lead if self.rng.random() < 0.8 or not self.places.tcm else self.places.tcm
        )
        if roll < 0.40 and village is not None:
            source = village if self.rng.random() < 0.55 or township is None else township
            return source, county_target, "up"
        if roll < 0.46 and village is not None:
            return (township or village), self.places.lead, "green"
        if roll < 0.90 and village is not None:
            target = village if township is None or self.rng.random() < 0.3 else township
            return self.rng.choice(self.places.county_level), target, "down"
        if roll < 0.95 and self.places.tcm is not None:
            return self.places.lead, self.places.tcm, "lateral"
        if self.places.external:
            return self.places.lead, self.rng.choice(self.places.external), "out"
        return (township or self.places.lead), self.places.lead, "up"

    # --- one referral -----------------------------------------------------------------------

    def run(self, total: int) -> dict[str, int]:
        with batched(Referral):  # the indicators hear of the whole year once
            for patient_id, village_id in self._patients(total):
                self._one(patient_id, village_id)
        self._beds()
        return {
            "referrals": Referral.objects.count(),
            "referral_follow_ups": FollowUpTask.objects.count(),
            **{f"referrals_{k}": v for k, v in sorted(self.counts.items())},
        }

    def _minutes(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(minutes=self.rng.uniform(low, high))

    def _one(self, patient_id: int, village_id: int) -> None:
        source, target, kind = self._route(village_id)
        if source.pk == target.pk:
            return
        patient = Patient.objects.select_related("village").get(pk=patient_id)
        start = self.anchor - dt.timedelta(days=self.rng.triangular(0, 365, 0)) - self._minutes(0, 600)
        ending = self.rng.choices([e for e, _ in ENDINGS], [w for _, w in ENDINGS])[0]
        green = None
        if kind == "green":
            green = self.green.get(self.rng.choice(list(GREEN))) if self.green else None
            code, name, history = GREEN[green.code] if green and green.code in GREEN else UP[0]
        elif kind == "down":
            code, name, history = self.rng.choice(DOWN)
        else:
            code, name, history = self.rng.choice(UP)
        reasons = self.reasons_down if kind == "down" else self.reasons_up
        urgency = "emergency" if green else ("urgent" if self.rng.random() < 0.15 else "routine")
        depts = self.places.departments.get(target.pk, [])
        department = self.rng.choice(depts) if depts and not green and self.rng.random() < 0.7 else None
        recent = start > self.anchor - dt.timedelta(days=7)
        booked = recent and urgency == "routine" and kind in ("up", "lateral")
        slot = self._slot(target) if booked else None
        fields: dict[str, Any] = {
            "actor": None,
            "patient": patient,
            "from_institution": source,
            "to_institution": target,
            "to_department": department,
            "urgency": urgency,
            "green_channel": green,
            "diagnosis_code": code,
            "diagnosis_name": name,
            "history": history,
            "treatment": "已予对症处理。" if kind != "down" else "住院规范治疗，病情稳定。",
            "reason": self.rng.choice(reasons),
            "at": start,
        }
        try:
            referral = services.referral_create(slot=slot, **fields)
        except DomainError:  # the place went meanwhile, or the patient is booked in that clinic
            referral = services.referral_create(**fields)
        self.counts[kind] += 1
        if ending == "draft":
            self.counts["draft"] += 1
            return
        self._walk(referral, ending, start, kind)

    def _slot(self, target: Institution) -> Slot | None:
        """A free place reserved for referrals at the receiver, when its clinics have one."""
        return (
            Slot.objects.filter(
                session__institution=target,
                reserved_for_referral=True,
                booked__lt=F("capacity"),
                starts_at__gt=self.anchor + dt.timedelta(days=1),
            )
            .select_related("session")
            .order_by("starts_at")
            .first()
        )

    def _walk(self, referral: Referral, ending: str, t: dt.datetime, kind: str) -> None:
        green = kind == "green"
        steps: list[tuple[str, dt.timedelta]] = [("submit", dt.timedelta(0))]
        if ending == "redirected":
            steps.append(("redirect", self._minutes(10, 300)))
        elif ending == "rejected":
            steps.append(("reject", self._minutes(20, 900)))
        else:
            late = self.rng.random() < 0.08  # some answers come after the deadline
            wait = self._minutes(2, 9) if green else self._minutes(10, 2000 if late else 900)
            steps += [
                ("accept", wait),
                ("arrive", self._minutes(20, 60) if green else self._minutes(60, 2880)),
            ]
            steps += [("start_care", self._minutes(5, 25) if green else self._minutes(10, 180))]
            steps += [
                ("complete", self._minutes(3 * 1440, 12 * 1440)),
                ("follow_up", self._minutes(2 * 1440, 13 * 1440)),
            ]
        stop_after = {
            "submitted": "submit",
            "accepted": "accept",
            "arrived": "arrive",
            "in_care": "start_care",
            "completed": "complete",
        }.get(ending)
        cancel_at = self.rng.randrange(1, len(steps)) if ending == "cancelled" and len(steps) > 1 else None
        for index, (step, delay) in enumerate(steps):
            t = t + delay
            if t > self.anchor:
                break
            if cancel_at is not None and index == cancel_at:
                services.referral_cancel(actor=None, referral=referral, reason=self.rng.choice(CANCEL), at=t)
                self.counts["cancelled"] += 1
                return
            self._step(referral, step, t)
            if step == stop_after:
                break

    def _step(self, referral: Referral, step: str, t: dt.datetime) -> None:
        rng = self.rng
        if step == "submit":
            services.referral_submit(actor=None, referral=referral, at=t)
        elif step == "accept":
            services.referral_accept(actor=None, referral=referral, at=t)
        elif step == "reject":
            services.referral_reject(actor=None, referral=referral, reason=rng.choice(REJECT), at=t)
        elif step == "redirect":
            target = (
                self.places.tcm
                if referral.to_institution_id != getattr(self.places.tcm, "pk", None)
                else None
            )
            target = target or self.places.lead
            if target.pk in (referral.to_institution_id, referral.from_institution_id):
                return
            services.referral_redirect(
                actor=None, referral=referral, to_institution=target, note="专科更对口，转至该院", at=t
            )
        elif step == "arrive":
            services.referral_arrive(actor=None, referral=referral, at=t)
        elif step == "start_care":
            mode = "admitted" if referral.green_channel_id or rng.random() < 0.6 else "outpatient"
            services.referral_start_care(actor=None, referral=referral, mode=mode, at=t)
        elif step == "complete":
            services.referral_complete(
                actor=None,
                referral=referral,
                diagnosis_code=referral.diagnosis_code,
                diagnosis_name=referral.diagnosis_name,
                results="主要检查结果已随单附上。",
                treatment="规范治疗后病情稳定。",
                advice=rng.choice(RETURN_ADVICE),
                at=t,
            )
        elif step == "follow_up":
            task = referral.follow_ups.filter(status="open").first()
            if task is not None:
                services.follow_up_record(
                    actor=None, task=task, note="已上门随访，病情平稳，按医嘱服药。", at=t
                )

    def _beds(self) -> None:
        """The county hospitals' wards report their beds in use (60–95 %)."""
        for institution in self.places.county_level:
            for dept in self.places.departments.get(institution.pk, []):
                services.occupancy_set(
                    actor=None, department=dept, occupied=round(dept.beds * self.rng.uniform(0.6, 0.95))
                )


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    total = max(MIN_REFERRALS, min(MAX_REFERRALS, residents // PER_RESIDENTS))
    return Generator(county, seed=seed, as_of=as_of).run(total)
