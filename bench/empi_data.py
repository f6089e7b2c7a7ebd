"""A labelled test set for the master patient index: registrations of the same residents, as written.

A county's clinics register the same person several times (village clinic, township health centre,
county hospital), each clerk writing what she hears or reads: 张玮 for 张伟, 陳 from an old paper
record, day and month swapped, an ID number with a slipped digit or an old 15-digit number, the
phone number of the year. ``generate`` builds such registrations with the person each one belongs
to (``truth``), so that a matcher's clusters can be scored pairwise (``pairwise_metrics``).

The hard part of a Chinese index is not the typos but the people who look alike and are not the
same person; a few percent of persons belong to one of three look-alike groups (``hard``):

- ``twin``: same surname, birth date, household phone and address, similar given names
  (浩然/浩宇), different ID numbers (consecutive sequence numbers);
- ``namesake``: same name, sex and birth date (张伟 is common), different ID, village and phone;
- ``father_son``: the same name in one household, 22–34 years apart.

Names follow national frequencies (王 李 张 刘 陈 lead) and birth-era fashions (秀英 before 1960,
伟 and 娜 around 1980, 浩然 and 梓涵 after 2000), so that namesakes occur as they do in life.
Everything is drawn from one ``random.Random(seed)``: the same seed gives the same rows.

Measured on the 2-core development machine: 1,000,000 registrations (581,000 persons) in 11 s,
the process growing by about 730 MB (rows share their repeated strings: a person's name, date
and address). ``normalise`` takes about 35 s for a million rows (pinyin keys cached per name).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from bisect import bisect_right
from collections import Counter
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import opencc
from pypinyin import lazy_pinyin

from yigongti.patients.names import pinyin_readings, simplified

AS_OF = dt.date(2025, 6, 30)
COUNTY_CODE = "360123"
COUNTY_NAME = "宁川县"
#: Area codes of people registered elsewhere at birth (married in, moved in): nearby counties.
OTHER_AREA_CODES = ("360121", "360122", "360124", "360102", "360111", "360302", "360425", "361021")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"
MOBILE_PREFIXES = tuple(
    str(p)
    for p in (130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159, 176,
              177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199)
)  # fmt: skip
CSV_HEADER = ("source_id", "name", "sex", "birth_date", "id_number", "phone", "address")

# --- names -----------------------------------------------------------------------------------------

# Surname shares (per 10,000) after the national figures of the 2020 census report: the first five
# cover about 30 % of the population.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 712), ("李", 700), ("张", 674), ("刘", 538), ("陈", 453), ("杨", 308), ("黄", 245),
    ("赵", 229), ("吴", 203), ("周", 193), ("徐", 145), ("孙", 138), ("马", 129), ("朱", 128),
    ("胡", 116), ("郭", 113), ("何", 106), ("高", 100), ("林", 97), ("罗", 95), ("郑", 92),
    ("梁", 87), ("谢", 74), ("宋", 62), ("唐", 62), ("许", 60), ("韩", 59), ("冯", 54), ("邓", 54),
    ("曹", 53), ("彭", 52), ("曾", 50), ("肖", 49), ("田", 48), ("董", 43), ("袁", 43), ("潘", 42),
    ("于", 42), ("蒋", 42), ("蔡", 40), ("余", 40), ("杜", 39), ("叶", 39), ("程", 38), ("苏", 36),
    ("魏", 35), ("吕", 34), ("丁", 34), ("任", 33), ("沈", 32), ("姚", 32), ("卢", 31), ("姜", 30),
    ("崔", 29), ("钟", 29), ("谭", 28), ("陆", 27), ("汪", 27), ("范", 26), ("金", 26), ("石", 25),
    ("廖", 25), ("贾", 25), ("夏", 24), ("韦", 24), ("付", 23), ("方", 22), ("白", 22), ("邹", 22),
    ("孟", 22), ("熊", 21), ("秦", 21), ("邱", 21), ("江", 20), ("尹", 20), ("薛", 19), ("闫", 19),
    ("段", 19), ("雷", 19), ("侯", 18), ("龙", 18), ("史", 18), ("陶", 17), ("黎", 17), ("贺", 16),
    ("顾", 16), ("毛", 16), ("郝", 15), ("龚", 15), ("邵", 15), ("万", 15), ("钱", 14), ("严", 14),
    ("覃", 14), ("武", 14), ("戴", 14), ("莫", 13), ("孔", 13), ("向", 13), ("汤", 13), ("涂", 12),
    ("单", 5), ("欧阳", 5), ("仇", 3),
)  # fmt: skip

# Given names by birth era and sex: (era start year, common male names, common female names, male
# characters, female characters, share of one-character names). Common names are drawn with Zipf
# weights (the first is the commonest); the others are composed from the era's characters.
ERAS: tuple[tuple[int, str, str, str, str, float], ...] = (
    (0, "建国 国华 德明 福生 金生 长生 志明 文华 国庆 建华 有才 荣华 桂林 水生 根生 国平 明 华 军 忠",
     "秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉英 兰英 淑珍 秀云 桂珍 凤兰 金凤 玉梅 秀梅 冬梅",
     "国华明金德福寿生发财荣贵泉林根水清昌祥文才光有全富炳汉松胜喜来春",
     "英秀兰珍凤桂玉芳梅娣好妹娇莲金银彩群娟霞枝花香月连美容珠爱", 0.15),
    (1960, "伟 勇 军 强 平 刚 建华 建军 国强 志强 海 斌 明 涛 建平 卫东 红兵 立新 晓东 小平",
     "丽 芳 红 艳 敏 霞 玲 萍 燕 红梅 丽华 春梅 秀芳 桂芳 海燕 晓红 丽娟 小红",
     "伟军勇强平建国华志红东明文斌辉海新春卫忠荣坚锋永俊振雄进成耀庆",
     "红丽艳燕萍芳玲霞英梅琼敏秀华凤娟群桂娥珍容玉莲惠洁冰", 0.30),
    (1980, "伟 磊 涛 超 杰 鹏 浩 斌 亮 强 俊 波 辉 帅 洋 宇 明 军 勇 龙 飞 刚 健 峰",
     "娜 静 丽 敏 婷 芳 娟 艳 雪 琳 倩 颖 晶 丹 洁 慧 玲 燕 欢 佳",
     "杰涛磊伟鹏超浩俊斌健锋辉亮勇明华峰强军龙彬威毅东飞文志剑波",
     "婷静丽敏燕娟霞芳琳颖倩雪玲慧莹洁娜艳晶薇欣丹秋嘉月", 0.40),
    (2000, "浩然 子轩 宇轩 浩宇 梓豪 俊杰 一鸣 宇航 博文 皓轩 梓睿 晨阳 天佑 子墨 浩 轩 宇 睿",
     "欣怡 梓涵 子涵 诗涵 一诺 可馨 梓萱 雨涵 紫涵 欣妍 语桐 佳怡 思涵 雨桐 芷若 诗琪 梦琪",
     "浩宇轩子俊杰博睿泽晨航诚铭涵然辰阳一奕梓皓霖嘉家乐天佑宸煜",
     "欣怡梓涵子琪诗雨晴思佳可馨悦雅萱妍琳嘉彤颖婷语若依心芷桐", 0.12),
)  # fmt: skip
#: Share of people who carry one of their era's common names (the rest have composed names).
COMMON_NAME_SHARE = 0.06

# Characters a clerk may write for the one she hears: same toneless reading (伟/玮, 小/晓) or a
# near reading (玲/琳: many southern speakers do not tell -n from -ng).
HOMOPHONES: dict[str, str] = {
    "伟": "玮炜苇", "明": "铭鸣", "小": "晓筱", "华": "桦骅", "丽": "莉俐", "静": "婧", "娜": "那",
    "芳": "方", "敏": "民闵", "军": "君钧", "勇": "永咏", "杰": "洁", "涛": "韬", "磊": "垒",
    "强": "蔷", "艳": "燕", "娟": "鹃", "霞": "侠", "平": "萍坪", "刚": "钢岗", "红": "宏虹鸿",
    "建": "健剑", "国": "帼", "英": "瑛莺", "秀": "绣", "兰": "岚澜", "婷": "亭庭", "浩": "皓昊",
    "宇": "雨语羽", "轩": "萱宣", "梓": "子紫", "涵": "含晗寒", "睿": "瑞锐", "欣": "馨新心",
    "怡": "宜仪", "琪": "琦淇棋", "辉": "晖徽", "斌": "彬", "峰": "锋丰", "鹏": "朋", "飞": "菲",
    "文": "雯", "志": "智", "海": "凯", "燕": "艳雁", "玉": "钰", "梅": "玫", "凤": "峰", "金": "锦",
    "春": "纯", "东": "冬", "庆": "青", "超": "潮", "俊": "骏峻", "波": "博", "龙": "隆", "洋": "阳扬",
    "晨": "辰", "阳": "洋杨", "佳": "嘉家", "雪": "学", "倩": "茜", "颖": "莹影", "丹": "单",
    "慧": "惠蕙", "玲": "琳", "晶": "菁", "雨": "宇", "思": "斯", "诗": "诗", "琳": "玲", "彬": "斌",
    "林": "琳凌", "珍": "贞", "桂": "贵", "莲": "连", "福": "富", "生": "声", "德": "得", "荣": "容",
    "张": "章", "刘": "柳", "陈": "程", "凌": "林",
}  # fmt: skip

# --- villages ---------------------------------------------------------------------------------------

TOWNSHIPS: tuple[tuple[str, str, int, int], ...] = (
    # (3-digit code, name, villages, population weight)
    ("101", "城关镇", 18, 190), ("102", "龙津镇", 15, 110), ("103", "鼎湖镇", 14, 90),
    ("104", "万埠镇", 13, 80), ("105", "长埠镇", 12, 60), ("106", "东阳镇", 12, 60),
    ("107", "石鼻镇", 13, 70), ("108", "黄洲镇", 11, 50), ("109", "新民镇", 12, 50),
    ("110", "乔乐镇", 11, 50), ("111", "青湖镇", 12, 55), ("112", "桥头镇", 10, 40),
    ("201", "长均乡", 8, 25),
)  # fmt: skip
VILLAGE_FIRST = (
    "东西南北上下大小新石水黄龙凤白青高长江岭田塘松竹梅桃莲沙湖岗坪河金马牛鹤茶桂和太福安联红光明横中前后"
)
VILLAGE_SECOND = "坑岭塘洞坪田山头湾背江冲陂围岗坝口源溪岩桥屋坳圩埠洲边"

_ADDRESS_TAIL = re.compile(r"(\d+组)?(\d+号)?$")


def default_villages() -> list[tuple[str, str]]:
    """About 160 villages in 13 townships: (12-digit village code, address prefix); fixed, seedless."""
    rng = random.Random(11643)
    used: set[str] = set()
    villages: list[tuple[str, str]] = []
    for code, township, count, _ in TOWNSHIPS:
        for i in range(count):
            while True:
                name = rng.choice(VILLAGE_FIRST) + rng.choice(VILLAGE_SECOND)
                if name not in used and name[0] != name[1]:
                    used.add(name)
                    break
            villages.append((f"{COUNTY_CODE}{code}{201 + i:03d}", f"{COUNTY_NAME}{township}{name}村"))
    return villages


def _village_weights(villages: list[tuple[str, str]]) -> list[float]:
    weight = {f"{COUNTY_CODE}{code}": w / n for code, _, n, w in TOWNSHIPS}
    return [weight.get(code[:9], 1.0) for code, _ in villages]


# --- ID numbers -------------------------------------------------------------------------------------


def check_character(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of 17 digits."""
    return CHECK_MAP[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def upgrade_15(legacy: str) -> str:
    """A 15-digit pre-1999 number as 18 characters: ``19`` inserted before the year, check added."""
    first17 = legacy[:6] + "19" + legacy[6:]
    return first17 + check_character(first17)


# --- generation -------------------------------------------------------------------------------------


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    return list(accumulate(weights))


def _zipf(n: int) -> list[float]:
    return _cumulative([1.0 / (rank + 1) for rank in range(n)])


class _Pools:
    """Name and place tables, prepared once per ``generate`` call (cumulative weights for bisect)."""

    def __init__(self, villages: list[tuple[str, str]]) -> None:
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = _cumulative([w for _, w in SURNAMES])
        self.eras = []
        for start, male_common, female_common, male_chars, female_chars, single in ERAS:
            common = {"M": male_common.split(), "F": female_common.split()}
            chars = {"M": male_chars, "F": female_chars}
            cum = {sex: _zipf(len(names)) for sex, names in common.items()}
            self.eras.append((start, common, cum, chars, single))
        self.era_starts = [e[0] for e in self.eras]
        self.villages = villages
        self.village_cum = _cumulative(_village_weights(villages))
        # Age pyramid of a rural county (5-year bands 0-4 ... 95-99): few young adults at home.
        pyramid = (
            4.6,
            6.0,
            6.4,
            5.6,
            3.8,
            3.9,
            5.0,
            5.6,
            6.0,
            7.4,
            8.2,
            7.8,
            6.6,
            5.6,
            4.6,
            3.4,
            2.2,
            1.2,
            0.5,
            0.15,
        )
        self.adult_bands = list(range(5, 19))  # heads of household are 25-94
        self.adult_cum = _cumulative(pyramid[5:19])
        self.mobile_prefixes = MOBILE_PREFIXES


class _Generator:
    def __init__(self, seed: int, villages: list[tuple[str, str]]) -> None:
        self.rng = random.Random(seed)
        self.pools = _Pools(villages)
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.persons: list[list[Any]] = []
        self.s2t = opencc.OpenCC("s2t")

    # names and numbers

    def surname(self) -> str:
        p = self.pools
        return p.surnames[bisect_right(p.surname_cum, self.rng.random() * p.surname_cum[-1])]

    def given_name(self, sex: str, year: int) -> str:
        rng, p = self.rng, self.pools
        _, common, cum, chars, single = p.eras[bisect_right(p.era_starts, year) - 1]
        if rng.random() < COMMON_NAME_SHARE:
            names = common[sex]
            return names[bisect_right(cum[sex], rng.random() * cum[sex][-1])]
        pool = chars[sex]
        if rng.random() < single:
            return rng.choice(pool)
        return rng.choice(pool) + rng.choice(pool)

    def sibling_name(self, given: str, sex: str, year: int) -> str:
        """A twin's given name: shares the first character (浩然/浩宇) or mirrors 大/小."""
        pool = self.pools.eras[bisect_right(self.pools.era_starts, year) - 1][3][sex]
        for _ in range(20):
            other = given[0] + self.rng.choice(pool) if len(given) == 2 else self.rng.choice(pool)
            if other != given and other[0] != other[-1]:
                return other
        return given + "二"

    def phone(self) -> str:
        while True:
            number = self.rng.choice(self.pools.mobile_prefixes) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def id_number(self, birth: dt.date, sex: str, area: str | None = None, near: str | None = None) -> str:
        """A unique 18-character number; ``near`` (a twin's number) gives the next free sequence."""
        rng = self.rng
        if area is None:
            area = COUNTY_CODE if rng.random() < 0.88 else rng.choice(OTHER_AREA_CODES)
        stem = area + birth.strftime("%Y%m%d")
        parity = 1 if sex == "M" else 0
        start = int(near[14:17]) + 1 if near else rng.randrange(1, 999)
        for attempt in range(2000):
            seq = (start + attempt) % 1000 if near else rng.randrange(0, 1000)
            if seq % 2 != parity:
                continue
            first17 = f"{stem}{seq:03d}"
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + check_character(first17)
        raise RuntimeError(f"no free ID sequence for {stem}")  # 500 per day and sex: never at county scale

    def birth_date(self, year: int) -> dt.date:
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def village(self) -> int:
        p = self.pools
        return bisect_right(p.village_cum, self.rng.random() * p.village_cum[-1])

    def address(self, village: int) -> str:
        return f"{self.pools.villages[village][1]}{self.rng.randint(1, 15)}组{self.rng.randint(1, 300)}号"

    # people

    def person(
        self, name: str, sex: str, birth: dt.date, id18: str, phone: str, address: str, hard: str = ""
    ) -> list[Any]:
        rng = self.rng
        new_phone = self.phone() if rng.random() < 0.12 else ""
        moved = self.address(self.village()) if rng.random() < 0.05 else ""
        registrations = 1 + bisect_right(_REGISTRATIONS_CUM, rng.random() * _REGISTRATIONS_CUM[-1])
        person = [
            len(self.persons),
            name,
            sex,
            birth,
            id18,
            phone,
            new_phone,
            address,
            moved,
            hard,
            registrations,
        ]
        self.persons.append(person)
        return person

    def household(self) -> None:
        rng, pools = self.rng, self.pools
        address = self.address(self.village())
        head_sex = "M" if rng.random() < 0.85 else "F"
        band = pools.adult_bands[bisect_right(pools.adult_cum, rng.random() * pools.adult_cum[-1])]
        head_year = AS_OF.year - band * 5 - rng.randrange(5)
        home_phone = self.phone()
        family = self.surname()
        members: list[tuple[str, str, int, str]] = [
            (family, head_sex, head_year, "head")
        ]  # surname, sex, year
        if rng.random() < 0.8:
            spouse_year = head_year + rng.randint(-3, 6) * (1 if head_sex == "M" else -1)
            members.append((self.surname(), "F" if head_sex == "M" else "M", spouse_year, "spouse"))
        year = (head_year if head_sex == "M" else members[-1][2]) + rng.randint(22, 30)
        for _ in range(bisect_right(_CHILDREN_CUM, rng.random() * _CHILDREN_CUM[-1])):
            if year > AS_OF.year - 1:
                break
            members.append((family, "M" if rng.random() < 0.53 else "F", year, "child"))
            year += rng.randint(1, 5)
        if rng.random() < 0.15 and head_year - 32 > AS_OF.year - 100:
            members.append(
                (family, "M" if rng.random() < 0.4 else "F", head_year - rng.randint(22, 32), "parent")
            )
        created: list[list[Any]] = []
        for surname, sex, birth_year, role in members:
            birth = self.birth_date(birth_year)
            name, hard = surname + self.given_name(sex, birth_year), ""
            if role == "child" and head_sex == "M" and sex == "M" and rng.random() < 0.028:
                name, hard = created[0][1], "father_son"  # the son carries his father's name
                created[0][9] = hard
            phone = self.own_phone(birth, home_phone)
            person = self.person(name, sex, birth, self.id_number(birth, sex), phone, address, hard)
            created.append(person)
            if role == "child" and rng.random() < 0.02:
                created.append(self.twin(person, surname, home_phone))
        if rng.random() < 0.017:
            self.namesake(rng.choice(created))

    def own_phone(self, birth: dt.date, home_phone: str) -> str:
        """Adults mostly have their own mobile; children and the old give the household's."""
        return self.phone() if 18 <= AS_OF.year - birth.year <= 75 and self.rng.random() < 0.8 else home_phone

    def twin(self, first: list[Any], surname: str, home_phone: str) -> list[Any]:
        birth: dt.date = first[3]
        sex = first[2] if self.rng.random() < 0.6 else ("F" if first[2] == "M" else "M")
        given = self.sibling_name(first[1][len(surname) :], sex, birth.year)
        id18 = self.id_number(birth, sex, first[4][:6], first[4])
        first[9] = "twin"
        return self.person(
            surname + given, sex, birth, id18, self.own_phone(birth, home_phone), first[7], "twin"
        )

    def namesake(self, original: list[Any]) -> None:
        """Someone elsewhere in the county with the same name, sex and birth date."""
        village = self.village()
        while original[7].startswith(self.pools.villages[village][1]):
            village = (village + 1) % len(self.pools.villages)
        birth = original[3]
        self.person(original[1], original[2], birth, self.id_number(birth, original[2]), self.phone(),
                    self.address(village), "namesake")  # fmt: skip
        original[9] = "namesake"

    # registrations

    def registration(self, person: list[Any], truth: int) -> dict[str, Any]:
        rng = self.rng
        _, name, sex, birth, id18, phone, new_phone, address, moved, hard = person[:10]
        return {
            "source_id": "",
            "truth": truth,
            "name": self.written_name(name),
            "sex": self.written_sex(sex),
            "birth_date": self.written_date(birth),
            "id_number": self.written_id(id18, birth),
            "phone": ""
            if rng.random() < 0.10
            else (new_phone if new_phone and rng.random() < 0.5 else phone),
            "address": "" if rng.random() < 0.03 else (moved if moved and rng.random() < 0.5 else address),
            "hard": hard,
        }

    def written_name(self, name: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.005:
            return ""
        if r < 0.065:  # a homophone or near-sound character for one character of the name
            positions = [i for i, ch in enumerate(name) if ch in HOMOPHONES]
            if positions:
                i = rng.choice(positions)
                name = name[:i] + rng.choice(HOMOPHONES[name[i]]) + name[i + 1 :]
        elif r < 0.105:  # an old record in traditional characters
            name = _traditional(self.s2t, name)
        return name

    def written_sex(self, sex: str) -> str:
        r = self.rng.random()
        if r < 0.035:
            return ""
        if r < 0.04:
            return "F" if sex == "M" else "M"
        if r < 0.18:
            return "男" if sex == "M" else "女"
        return sex

    def written_date(self, birth: dt.date) -> str:
        r = self.rng.random()
        if r < 0.03:
            return ""
        if r < 0.055 and birth.day <= 12 and birth.day != birth.month:
            birth = birth.replace(month=birth.day, day=birth.month)
        elif 0.055 <= r < 0.08:
            birth += dt.timedelta(days=self.rng.choice((-1, 1)))
        return _iso(birth)

    def written_id(self, id18: str, birth: dt.date) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.12:
            return ""
        if r < 0.15:  # one digit slipped (the check character is not recomputed)
            i = rng.randrange(17)
            return id18[:i] + rng.choice([d for d in "0123456789" if d != id18[i]]) + id18[i + 1 :]
        if r < 0.165:  # two adjacent characters swapped
            i = rng.randrange(17)
            if id18[i] != id18[i + 1]:
                return id18[:i] + id18[i + 1] + id18[i] + id18[i + 2 :]
            return id18
        if r < 0.175:  # only the check character is wrong
            return id18[:17] + rng.choice([c for c in CHECK_MAP if c != id18[17]])
        if r < 0.275 and birth.year < 1984:  # the pre-1999 15-digit number from an old record
            return id18[:6] + id18[8:17]
        if id18[17] == "X" and rng.random() < 0.3:
            return id18[:17] + "x"
        return id18


_REGISTRATIONS_CUM = _cumulative([50, 33, 12, 5])  # 1-4 registrations a person, 1.72 on average
_CHILDREN_CUM = _cumulative([20, 35, 35, 10])  # 0-3 children in the household


@lru_cache(maxsize=65536)
def _iso(day: dt.date) -> str:
    return day.isoformat()


_S2T_CACHE: dict[str, str] = {}


def _traditional(converter: opencc.OpenCC, name: str) -> str:
    found = _S2T_CACHE.get(name)
    if found is None:
        found = _S2T_CACHE[name] = converter.convert(name)
    return found


def generate(
    n_registrations: int, *, seed: int, villages: list[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """``n_registrations`` registration rows of about ``n / 1.7`` persons, shuffled, deterministic.

    Each row: ``source_id`` (unique), ``truth`` (person number), ``name``, ``sex``, ``birth_date``,
    ``id_number``, ``phone``, ``address`` as written, and ``hard`` ('' or the look-alike group the
    person belongs to: ``twin``, ``namesake``, ``father_son``).
    """
    gen = _Generator(seed, villages or default_villages())
    total = 0
    while total < n_registrations:
        before = len(gen.persons)
        gen.household()
        total += sum(p[10] for p in gen.persons[before:])
    rows: list[dict[str, Any]] = []
    for person in gen.persons:
        for _ in range(person[10]):
            if len(rows) == n_registrations:
                break
            rows.append(gen.registration(person, person[0]))
    gen.rng.shuffle(rows)
    width = len(str(n_registrations))
    for i, row in enumerate(rows):
        row["source_id"] = f"R{i:0{width}d}"
    return rows


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    """The rows as a clinic's export would give them: no ``truth`` column, UTF-8 with a header."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        writer.writerows([row[k] for k in CSV_HEADER] for row in rows)


# --- scoring ---------------------------------------------------------------------------------------


def truth_map(rows: list[dict[str, Any]]) -> dict[str, int]:
    """source_id -> person."""
    return {row["source_id"]: row["truth"] for row in rows}


def truth_pairs(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every pair of registrations of the same person, as (smaller source_id, larger source_id)."""
    by_person: dict[int, list[str]] = {}
    for row in rows:
        by_person.setdefault(row["truth"], []).append(row["source_id"])
    pairs: set[tuple[str, str]] = set()
    for ids in by_person.values():
        ids.sort()
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return pairs


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def pairwise_metrics(truth: dict[str, Any], predicted: dict[str, Any]) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 of a clustering against the truth.

    A pair of records is predicted when both are in one cluster, true when both belong to one
    person. Counted from the contingency table (person x cluster), not by listing pairs, so it
    runs at a million records. Records of ``truth`` missing from ``predicted`` are singletons.
    """
    cells: Counter[tuple[Any, Any]] = Counter()
    clusters: Counter[Any] = Counter()
    for source_id, person in truth.items():
        cluster = predicted.get(source_id, ("singleton", source_id))
        cells[(person, cluster)] += 1
        clusters[cluster] += 1
    true_pairs = sum(_pairs(c) for c in Counter(truth.values()).values())
    predicted_pairs = sum(_pairs(c) for c in clusters.values())
    correct = sum(_pairs(c) for c in cells.values())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "correct_pairs": correct,
    }


# --- normalisation for matching -------------------------------------------------------------------

_SEX = {"M": "M", "F": "F", "男": "M", "女": "F", "m": "M", "f": "F"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@lru_cache(maxsize=1 << 20)
def _name_keys(written: str) -> tuple[str, str, tuple[str, ...]]:
    name = "".join(simplified(written).split())
    if not name:
        return "", "", ()
    primary = "".join(lazy_pinyin(name)).lower()
    readings = pinyin_readings(name)
    if primary not in readings:
        readings = (primary, *readings)
    return name, primary, readings


@lru_cache(maxsize=1)
def _default_prefixes() -> dict[str, str]:
    return {prefix: code for code, prefix in default_villages()}


def _valid_date(text: str) -> str:
    if not _DATE.match(text):
        return ""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return ""
    return text


def normalise_id(written: str) -> str:
    """18 upper-case characters (15-digit numbers upgraded), or '' for anything else."""
    value = "".join(written.split()).upper()
    if len(value) == 15 and value.isdigit():
        return upgrade_15(value)
    return value if len(value) == 18 else ""


def normalise(row: dict[str, Any], *, villages: dict[str, str] | None = None) -> dict[str, Any]:
    """A row as the matching record: simplified name, pinyin keys, M/F, ISO date, 18-char ID, village.

    ``villages`` maps address prefixes to village codes (the default villages when omitted); an
    address whose prefix is unknown keeps the prefix itself as its village key.
    """
    name, primary, readings = _name_keys(row.get("name") or "")
    address = (row.get("address") or "").strip()
    village = ""
    if address:
        prefix = _ADDRESS_TAIL.sub("", address)
        village = (villages if villages is not None else _default_prefixes()).get(prefix, prefix)
    phone = "".join(ch for ch in (row.get("phone") or "") if ch.isdigit())
    return {
        "unique_id": str(row["source_id"]),
        "name": name,
        "pinyin": primary,
        "pinyin_all": list(readings),
        "sex": _SEX.get((row.get("sex") or "").strip(), ""),
        "birth_date": _valid_date((row.get("birth_date") or "").strip()),
        "id_number": normalise_id(row.get("id_number") or ""),
        "phone": phone,
        "village": village,
    }
