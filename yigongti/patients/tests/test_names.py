"""Name keys: simplified form, every pinyin reading (surnames first), initials, query kinds."""

from __future__ import annotations

import pytest

from yigongti.patients import names
from yigongti.patients.names import (
    initials_keys,
    name_keys,
    normalise_query,
    pinyin_keys,
    pinyin_readings,
    simplified,
)


def test_plain_name():
    assert pinyin_keys("张伟") == {"zhangwei"}
    assert initials_keys("张伟") == {"zw"}
    assert name_keys("张伟") == [
        ("pinyin", "zhangwei"),
        ("initials", "zw"),
        ("suffix", "张伟"),
        ("suffix", "伟"),
    ]


@pytest.mark.parametrize(
    ("name", "surname_reading", "common_reading"),
    [
        ("单田芳", "shantianfang", "dantianfang"),
        ("曾志伟", "zengzhiwei", "cengzhiwei"),
        ("仇大海", "qiudahai", "choudahai"),
        ("区家明", "oujiaming", "qujiaming"),
        ("覃秀兰", "qinxiulan", "tanxiulan"),
    ],
)
def test_heteronym_surnames_read_as_surnames_first(name, surname_reading, common_reading):
    readings = pinyin_readings(name)
    assert readings[0] == surname_reading
    assert common_reading in readings  # a clerk typing the everyday reading still finds them
    assert surname_reading[0] in {key[0] for key in initials_keys(name)}


def test_surname_reading_only_applies_to_the_first_character():
    assert pinyin_readings("王单")[0] == "wangdan"


def test_compound_surname():
    assert pinyin_readings("尉迟敬德")[0] == "yuchijingde"
    assert "yjd" in initials_keys("尉迟敬德")


def test_traditional_input_is_simplified_and_keyed_alike():
    assert simplified("陳桂芳") == "陈桂芳"
    assert pinyin_keys("張偉") == {"zhangwei"}
    assert ("simplified", "张伟") in name_keys("張偉")
    assert not any(kind == "simplified" for kind, _ in name_keys("张伟"))


def test_umlaut_spelled_both_ways():
    assert {"lvna", "luna"} <= pinyin_keys("吕娜")


def test_mixed_latin_digits_and_punctuation():
    assert pinyin_keys("A娟") == {"ajuan"}
    assert initials_keys("A娟") == {"aj"}
    assert "abudureheman" in pinyin_keys("阿不都·热合曼")
    assert simplified("ＡＢ１") == "AB1"


def test_empty_and_symbols_give_no_keys():
    assert pinyin_keys("") == set() == initials_keys("  ")
    assert name_keys("·") == []


def test_keys_are_capped_with_the_likeliest_kept():
    name = "乐" * 12
    assert len(pinyin_keys(name)) == names.MAX_KEYS
    assert len(initials_keys(name)) <= names.MAX_KEYS
    assert pinyin_readings(name)[0] == "yue" + "le" * 11


@pytest.mark.parametrize(
    ("q", "kind", "value"),
    [
        ("", "empty", ""),
        ("   ", "empty", ""),
        ("zw", "initials", "zw"),
        ("ZW", "initials", "zw"),
        ("ｚｗ", "initials", "zw"),
        ("zhangw", "pinyin", "zhangw"),
        ("Zhang Wei", "pinyin", "zhangwei"),
        ("lü", "pinyin", "lv"),
        ("陳", "characters", "陈"),
        ("张w", "characters", "张w"),
        ("4418", "digits", "4418"),
        ("44182319500601002x", "digits", "44182319500601002X"),
        ("138 0000", "other", "138 0000"),
        ("!!", "other", "!!"),
    ],
)
def test_normalise_query(q, kind, value):
    assert normalise_query(q) == (kind, value)


def test_a_rare_character_without_a_reading_gives_no_key_and_no_error():
    from yigongti.patients.names import pinyin_readings

    assert pinyin_readings("\U0002ab24") == ()
    assert pinyin_readings("张\U0002ab24") == ("zhang",)


def test_suffix_keys_of_the_simplified_name_from_each_character_on():
    assert names.suffix_keys("张建国") == ["张建国", "建国", "国"]
    assert ("suffix", "陈桂芳") in name_keys("陳桂芳")  # a traditional name is keyed simplified
    assert names.suffix_keys("阿不都·热合曼")[-3:] == ["热合曼", "合曼", "曼"]
    assert names.suffix_keys("John Smith") == []  # Latin names have their own keys
    assert len(names.suffix_keys("乐" * 60)) == names.MAX_SUFFIX_NAME
