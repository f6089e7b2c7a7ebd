"""Later registrations of demo residents at other members, with the errors real desks make.

A resident filed at the village clinic is registered again at the county hospital, the TCM
hospital or the township centre: sometimes exactly, often with a traditional or homophone
character in the name, a 15-digit legacy ID number or none at all, a typo in the number, the
birth day and month swapped or one day off, a new phone; and now and then a different person of
the same name and birthday from another village, or a walk-in with almost no paperwork. Each
goes through the real matcher (``registration_create``), so most link, some land in the review
queue (a person must decide), and the consortium office has real work. Then the matcher is
trained on all registrations.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

import opencc
from django.utils import timezone

from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import Patient, RegistrationSource

#: Characters clerks confuse by sound (同音字), each with its usual substitutes.
HOMOPHONES: dict[str, str] = {
    "伟": "玮炜", "玮": "伟", "明": "铭鸣", "华": "桦骅", "芳": "方舫", "丽": "莉俐", "静": "婧靜",
    "军": "君钧", "强": "蔷", "敏": "旻", "娟": "涓", "英": "瑛莹", "红": "虹鸿", "平": "萍苹",
    "燕": "艳", "玲": "琳铃", "杰": "捷", "涛": "滔", "斌": "彬", "超": "钞", "勇": "涌", "霞": "侠",
    "秀": "绣", "兰": "岚", "梅": "玫", "建": "健", "国": "帼", "文": "雯", "志": "智", "海": "亥",
}  # fmt: skip

#: Share of residents registered again, and how many times at most.
SHARE = 0.05
MAX_EXTRA = 2
#: At most this many residents are registered again (≈ 3,750 registrations, the 50 k county's
#: share): each goes through the real matcher one by one (~15 ms), so 5 % of 400 k residents
#: would take minutes and add nothing the review queue and the matcher's training need.
MAX_RESIDENTS = 2500


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _homophone(name: str, rng: random.Random) -> str | None:
    spots = [i for i, ch in enumerate(name) if ch in HOMOPHONES and i > 0]
    if not spots:
        return None
    i = rng.choice(spots)
    return name[:i] + rng.choice(HOMOPHONES[name[i]]) + name[i + 1 :]


def _legacy(number: str) -> str:
    return number[:6] + number[8:17]


def _typo(number: str, rng: random.Random) -> str:
    i = rng.randrange(0, 17)
    digit = str((int(number[i]) + rng.randrange(1, 10)) % 10)
    return number[:i] + digit + number[i + 1 :]


def _swap(day: dt.date) -> dt.date:
    try:
        return dt.date(day.year, day.day, day.month) if day.day <= 12 and day.day != day.month else day
    except ValueError:
        return day


def corrupt(
    p: Patient,
    rng: random.Random,
    phone: Callable[[], str],
    addresses: list[str] | None = None,
    latest: dt.date | None = None,
) -> tuple[Entry, str]:
    """One later registration of ``p`` as a desk might type it, and what was changed.

    ``latest`` (default today) is the last possible birth date: registration refuses later ones.
    """
    latest = latest or timezone.localdate()
    name, number, birth, tel = p.name, p.id_number or "", p.birth_date, p.phone
    kind = rng.choices(
        KINDS,
        weights=(15, 15, 20, 10, 10, 10, 10, 10, 6, 6),
    )[0]
    address = p.address
    if kind == "sparse" and birth is not None:  # a walk-in with little paperwork: a person decides
        name = _homophone(name, rng) or name
        number, tel, address = "", "", ""
        birth = birth + dt.timedelta(days=rng.choice((-1, 1)))
    elif kind == "namesake":  # another person of the same name and birthday from elsewhere
        number, tel = "", phone()
        address = rng.choice(addresses) if addresses else ""
    if kind == "traditional":
        name = _to_traditional().convert(name)
    elif kind == "homophone":
        name = _homophone(name, rng) or _to_traditional().convert(name)
    elif kind == "legacy" and number and birth is not None and birth.year < 2000:
        number = _legacy(number)
    elif kind == "typo" and number:
        number = _typo(number, rng)
    elif kind == "no_id_swap" and birth is not None:
        number, birth, tel = "", _swap(birth), ""
    elif kind == "no_id_near" and birth is not None:
        number, birth = "", birth + dt.timedelta(days=rng.choice((-1, 1)))
    elif kind == "new_phone":
        tel = phone()
    if birth is not None and birth > latest:
        birth = p.birth_date  # a baby's shifted or swapped birthday would lie in the future
    if rng.random() < 0.3:
        tel = ""  # desks often skip the phone
    entry = Entry(
        name=name,
        sex=rng.choice(("男", "M")) if p.sex == "M" else rng.choice(("女", "F")),
        birth_date=birth if rng.random() < 0.9 or not number else None,
        id_number=number,
        phone=tel,
        address=address,
    )
    return entry, kind


KINDS = (
    "exact",
    "traditional",
    "homophone",
    "legacy",
    "typo",
    "no_id_swap",
    "no_id_near",
    "new_phone",
    "sparse",
    "namesake",
)


def register_duplicates(*, seed: int, share: float = SHARE) -> Counter[str]:
    """Register a share of the residents again at other members; returns decisions counted."""
    rng = random.Random(f"{seed}/duplicates")
    hospitals = list(
        Institution.objects.filter(
            kind__in=(
                InstitutionKind.LEAD_HOSPITAL,
                InstitutionKind.TCM_HOSPITAL,
                InstitutionKind.MATERNAL_CHILD,
            )
        ).order_by("code")
    )
    township_of = {
        v.pk: v.parent
        for v in Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC).select_related("parent")
    }
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    chosen = sorted(rng.sample(ids, k=min(MAX_RESIDENTS, int(len(ids) * share)))) if ids else []
    counts: Counter[str] = Counter()
    number = [0]
    today = timezone.localdate()
    addresses = [
        f"{a}{rng.randint(1, 12)}组"
        for a in Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC).values_list(
            "address", flat=True
        )
        if a
    ]

    def phone() -> str:
        return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))

    for patient in Patient.objects.filter(pk__in=chosen).order_by("pk"):
        for _ in range(rng.randint(1, MAX_EXTRA)):
            town = township_of.get(patient.village_id or 0)
            where = town if town is not None and rng.random() < 0.35 else rng.choice(hospitals)
            entry, kind = corrupt(patient, rng, phone, addresses, today)
            number[0] += 1
            local = f"MZ{number[0]:07d}"
            done = registration_create(
                actor=None,
                institution=where,
                entry=Entry(**{**entry.__dict__, "local_number": local}),
                source=RegistrationSource.DESK,
            )
            counts[done.decision] += 1
            counts[f"kind:{kind}"] += 1
    return counts
