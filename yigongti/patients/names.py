"""Search keys for Chinese names: simplified form, toneless pinyin, pinyin initials, suffixes.

A clerk types a resident's name the way she hears it: 张伟, ``zhangwei``, ``zw``, or the
traditional 張偉 from an old paper record. The master patient index stores, for every resident,
the keys that such a query may match (``PatientNameKey``): the simplified name when it differs
from the name as written (opencc ``t2s``), every toneless pinyin reading of the name, and the
initials of those readings. Heteronym characters give several readings (pypinyin with
``heteronym=True``), and a clerk cannot know which one the record "means", so every reading
is a key, capped at ``MAX_KEYS`` per kind. For a search by characters anywhere in the name, the
simplified name from each of its characters on is a key too (``suffix_keys``).

Surnames: pypinyin (0.55) has no surname mode, and its most common reading of a surname
character is often wrong (单 dan, 曾 ceng, 仇 chou, 区 qu, 覃 tan). ``SURNAME_READINGS`` lists
the surname readings (from the 《百家姓》 readings in the 现代汉语词典 entries) and puts them
first; the character's other readings follow, so a search with the common reading still finds.

Readings are cached per character (a few thousand distinct characters) and keys per name in a
bounded cache, so that the bulk loader computes millions of keys in flat memory.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import product
from typing import Literal, NamedTuple

import opencc
from pypinyin import Style, pinyin

#: At most this many pinyin keys (and this many initials keys) per name.
MAX_KEYS = 16

#: Longest key written (a 40-character name of six-letter syllables is 240).
MAX_KEY_LENGTH = 255

#: Surname readings (toneless) that differ from pypinyin's first reading of the character,
#: or compound surnames whose reading pypinyin cannot know from the characters alone.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "万俟": ("moqi",),
    "尉迟": ("yuchi",),
    "长孙": ("zhangsun",),
    "单于": ("chanyu",),
    "澹台": ("tantai",),
    "单": ("shan",),
    "曾": ("zeng",),
    "仇": ("qiu",),
    "区": ("ou",),
    "覃": ("qin",),
    "解": ("xie",),
    "朴": ("piao",),
    "查": ("zha",),
    "盖": ("ge",),
    "尉": ("yu", "wei"),
    "乐": ("yue", "le"),
    "缪": ("miao",),
    "翟": ("zhai",),
    "藏": ("zang",),
    "召": ("shao",),
    "种": ("chong",),
    "秘": ("bi",),
    "繁": ("po",),
    "员": ("yun",),
    "能": ("nai",),
    "句": ("gou",),
    "过": ("guo",),
    "黑": ("he",),
    "隗": ("wei",),
    "燕": ("yan",),
    "冼": ("xian",),
    "宓": ("mi",),
    "褚": ("chu",),
    "谌": ("chen",),
    "郇": ("huan",),
    "阚": ("kan",),
    "纪": ("ji",),
    "任": ("ren",),
}

_SURNAME_LENGTHS = sorted({len(s) for s in SURNAME_READINGS}, reverse=True)
_LATIN = re.compile(r"^[a-z]+$")
_DIGITS = re.compile(r"^[0-9]+[xX]?$")
_SEPARATORS = re.compile(r"[\s'·•・\-_.]+")
_VOWELS = frozenset("aeiouv")

Kind = Literal["empty", "characters", "pinyin", "initials", "digits", "other"]


class Query(NamedTuple):
    """A search query as typed, classified: ``value`` is what the keys are compared with."""

    kind: Kind
    value: str


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(name: str) -> str:
    """``name`` in simplified characters, width-normalised (全角 letters and digits become ASCII)."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    return _converter().convert(text) if text else ""


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"


def has_han(text: str) -> bool:
    """Whether ``text`` has a Chinese character."""
    return any(_is_han(ch) for ch in text)


@lru_cache(maxsize=16384)  # names use a few thousand distinct characters
def _char_readings(ch: str) -> tuple[str, ...]:
    """Toneless readings of one character, most common first; ü spelled both ``v`` and ``u``."""
    if not _is_han(ch):
        folded = ch.lower()
        return (folded,) if folded.isascii() and folded.isalnum() else ()
    readings: list[str] = []
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    for reading in found[0] if found else ():  # a rare extension character may have no reading
        for spelling in (reading, reading.replace("v", "u")):
            if spelling.isascii() and spelling.isalpha() and spelling not in readings:
                readings.append(spelling)
    return tuple(readings)


def _units(name: str) -> list[tuple[str, ...]]:
    """The name as a list of alternative readings per unit (a leading surname is one unit)."""
    units: list[tuple[str, ...]] = []
    rest = name
    for length in _SURNAME_LENGTHS:
        surname = SURNAME_READINGS.get(name[:length])
        if surname is not None:
            own: tuple[str, ...] = ()
            if length == 1:
                own = _char_readings(name[0])
            units.append(surname + tuple(r for r in own if r not in surname))
            rest = name[length:]
            break
    units.extend(r for r in map(_char_readings, rest) if r)
    return units


def _combinations(units: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Up to ``MAX_KEYS`` combinations of one reading per unit, the most likely first.

    Readings are trimmed from the unit with most of them until the full product is small, then
    combinations are ranked by how far they stray from each unit's first reading.
    """
    lists = [list(u) for u in units]
    budget = MAX_KEYS * 4
    while True:
        size = 1
        for unit in lists:
            size *= len(unit)
        if size <= budget:
            break
        widest = max(range(len(lists)), key=lambda i: (len(lists[i]), i))
        lists[widest].pop()
    ranked = sorted(product(*(list(enumerate(u)) for u in lists)), key=lambda combo: sum(i for i, _ in combo))
    return [tuple(reading for _, reading in combo) for combo in ranked[:MAX_KEYS]]


@lru_cache(maxsize=1 << 18)  # names repeat; a bounded cache keeps a million-row load flat
def _keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    units = _units(simplified(name))
    if not units:
        return (), ()
    full: list[str] = []
    initials: list[str] = []
    for combo in _combinations(units):
        key = "".join(combo)[:MAX_KEY_LENGTH]
        if key not in full:
            full.append(key)
    for combo in _combinations([tuple(dict.fromkeys(r[0] for r in unit)) for unit in units]):
        key = "".join(combo)[:MAX_KEY_LENGTH]
        if key not in initials:
            initials.append(key)
    return tuple(full), tuple(initials)


def pinyin_readings(name: str) -> tuple[str, ...]:
    """Toneless full-pinyin keys of ``name``, the surname reading and commonest readings first."""
    return _keys(name)[0]


def pinyin_keys(name: str) -> set[str]:
    """Every toneless full-pinyin reading of ``name`` (at most ``MAX_KEYS``): 张伟 → {"zhangwei"}."""
    return set(_keys(name)[0])


def initials_keys(name: str) -> set[str]:
    """The pinyin initials of every reading of ``name`` (at most ``MAX_KEYS``): 张伟 → {"zw"}."""
    return set(_keys(name)[1])


def suffix_keys(simple: str) -> list[str]:
    """The simplified name from each of its characters on (张建国 → 张建国, 建国, 国), for a name
    with a Chinese character: "the name contains 建国" is then "a suffix key starts with 建国",
    a range of the (kind, key) index where a search by characters had read every name in scope.
    Latin names are found by their pinyin-style keys and get none."""
    if not has_han(simple):
        return []
    simple = simple[:MAX_SUFFIX_NAME]
    return [simple[i:] for i in range(len(simple)) if not simple[i].isspace()]


#: Suffix keys are written for a name's first this many characters (names are far shorter).
MAX_SUFFIX_NAME = 40


def name_keys(name: str) -> list[tuple[str, str]]:
    """(kind, key) rows for ``PatientNameKey``: simplified (when it differs), pinyin, initials,
    and the simplified name's suffixes (``suffix_keys``)."""
    rows: list[tuple[str, str]] = []
    simple = simplified(name)
    if simple and simple != name:
        rows.append(("simplified", simple[:MAX_KEY_LENGTH]))
    full, initials = _keys(name)
    rows.extend(("pinyin", key) for key in full)
    rows.extend(("initials", key) for key in initials)
    rows.extend(("suffix", key) for key in suffix_keys(simple))
    return rows


def normalise_query(q: str) -> Query:
    """Classify a search query.

    - ``digits``: digits, perhaps ending in X (ID numbers), upper-cased: record, ID, phone prefix;
    - ``characters``: contains a Chinese character: simplified, matched inside names;
    - ``pinyin``: Latin letters with a vowel (``zhangw``, ``Zhang Wei``): a full-pinyin prefix;
    - ``initials``: Latin letters without a vowel (``zw``): a pinyin syllable always has one;
    - ``other``/``empty``: anything else, which finds no name key.
    """
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text:
        return Query("empty", "")
    if _DIGITS.match(text):
        return Query("digits", text.upper())
    if has_han(text):
        return Query("characters", simplified(text))
    latin = _SEPARATORS.sub("", text).lower().replace("ü", "v")
    if _LATIN.match(latin):
        if _VOWELS.isdisjoint(latin):
            return Query("initials", latin)
        return Query("pinyin", latin)
    return Query("other", text)
