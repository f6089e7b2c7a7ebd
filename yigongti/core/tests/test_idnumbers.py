"""GB 11643 ID numbers: the check character, 15→18 conversion, and every way input goes wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core import idnumbers
from yigongti.core.areacodes import PROVINCES
from yigongti.core.errors import InvalidInput

TODAY = dt.date(2026, 6, 1)

areas = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCES)),
    st.from_regex(r"\A[0-9]{4}\Z"),
)
births = st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def _parse(raw: str) -> idnumbers.IdNumber:
    return idnumbers.parse(raw, today=TODAY)


def _message(raw: str) -> str:
    with pytest.raises(InvalidInput) as info:
        _parse(raw)
    assert info.value.field == "id_number"
    with translation.override("en"):  # the wording is checked in English; test_i18n checks the catalogue
        return str(info.value.message)


# --- property tests ---------------------------------------------------------------------------


@given(areas, births, sequences)
def test_built_numbers_always_parse_back(area, birth, seq):
    value = idnumbers.build(area, birth, seq)
    parsed = _parse(value)
    assert parsed.value == value
    assert parsed.area_code == area
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if seq % 2 else "F")


@given(areas, births, sequences, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_breaks_the_check(area, birth, seq, pos, delta):
    value = idnumbers.build(area, birth, seq)
    changed = value[:pos] + str((int(value[pos]) + delta) % 10) + value[pos + 1 :]
    # MOD 11-2 detects every single substitution: the weight of each position is a unit mod 11.
    assert idnumbers.check_character(changed[:17]) != value[17]
    assert not idnumbers.is_valid(changed)


@given(areas, births, sequences, st.integers(0, 15))
def test_any_adjacent_transposition_breaks_the_check_unless_digits_equal(area, birth, seq, pos):
    value = idnumbers.build(area, birth, seq)
    swapped = value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]
    if value[pos] == value[pos + 1]:
        assert swapped == value
        assert idnumbers.check_character(swapped[:17]) == value[17]
    else:
        assert idnumbers.check_character(swapped[:17]) != value[17]


@given(st.text(max_size=30))
def test_arbitrary_text_is_either_valid_or_a_clear_invalid_input(raw):
    """No input may crash the parser: it returns a number or raises InvalidInput."""
    try:
        parsed = _parse(raw)
    except InvalidInput as exc:
        assert str(exc.message)
    else:
        assert len(parsed.value) == 18
        assert parsed.value.isascii()


# --- known examples ---------------------------------------------------------------------------


def test_the_standards_own_example():
    # GB 11643-1999, appendix: 11010519491231002X, a woman born 31 December 1949 in Beijing.
    parsed = _parse("11010519491231002X")
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.area_code == "110105"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("110105491231002", "11010519491231002X"),  # the standard's example, before 1999
        ("441823750309011", "44182319750309011X"),
        ("440104860101123", "440104198601011231"),
    ],
)
def test_fifteen_digit_numbers_are_converted(old, new):
    assert idnumbers.upgrade_15(old) == new
    parsed = _parse(old)
    assert parsed.value == new
    assert parsed.birth_date.year < 2000


def test_fifteen_digit_number_with_impossible_date_is_refused():
    assert "impossible birth date" in _message("110105490231002")


def test_lower_case_x_is_accepted_and_normalised():
    assert _parse("11010519491231002x").value == "11010519491231002X"


def test_full_width_digits_and_spaces_are_normalised():
    assert _parse("１１０１０５ １９４９１２３１ ００２Ｘ").value == "11010519491231002X"
    assert _parse("\u300011010519491231002X\t").value == "11010519491231002X"


def test_other_unicode_digits_are_refused_not_crashed():
    # "²" and Arabic-Indic digits pass str.isdigit() but are not digits of an ID number.
    assert _message("1101051949123100²X")
    assert _message("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "18 characters"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002XX", "18 characters"),
        ("1101051949123100XX", "17 digits followed by a digit or X"),
        ("11010519491231A02X", "17 digits followed by a digit or X"),
        ("00010519491231002X", "unknown area code"),
        ("110105194902300021", "impossible birth date"),
        ("110105194913010021", "impossible birth date"),
        ("110105187912310021", "out of range"),
        ("110105194912310021", "check character"),
    ],
)
def test_bad_numbers_name_what_is_wrong(raw, fragment):
    assert fragment in _message(raw)


def test_future_birth_dates_are_refused_and_today_is_allowed():
    tomorrow = idnumbers.build("441823", TODAY + dt.timedelta(days=1), 1)
    assert "out of range" in _message(tomorrow)
    assert _parse(idnumbers.build("441823", TODAY, 1)).birth_date == TODAY


def test_29_february_only_in_leap_years():
    assert _parse(idnumbers.build("441823", dt.date(2000, 2, 29), 5)).birth_date == dt.date(2000, 2, 29)
    first17 = "44182319010229005"  # 1901 is not a leap year
    assert "impossible birth date" in _message(first17 + idnumbers.check_character(first17))


def test_parse_names_the_field_it_was_given():
    with pytest.raises(InvalidInput) as info:
        idnumbers.parse("123", field="guardian_id_number")
    assert info.value.field == "guardian_id_number"
    with pytest.raises(InvalidInput) as info:
        idnumbers.parse("11010549123100Z", field="guardian_id_number")
    assert info.value.field == "guardian_id_number"


def test_mask_keeps_area_and_last_four():
    assert idnumbers.mask("11010519491231002X") == "110105********002X"
    assert idnumbers.mask("12345") == "*****"


def test_build_refuses_sequences_outside_three_digits():
    with pytest.raises(ValueError, match="sequence"):
        idnumbers.build("441823", dt.date(1990, 1, 1), 1000)
