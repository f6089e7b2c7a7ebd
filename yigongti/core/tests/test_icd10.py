import pytest

from yigongti.core import icd10
from yigongti.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("i10", "I10"),
        ("I10.", "I10"),
        ("Ｉ１０", "I10"),
        (" e11.9 ", "E11.9"),
        ("I10.X00X002", "I10.x00x002"),
        ("s72.0", "S72.0"),
    ],
)
def test_normalize_accepts_the_shapes_doctors_type(typed, stored):
    assert icd10.normalize(typed) == stored


@pytest.mark.parametrize("typed", ["", "10", "I1", "II0", "高血压", "I10..1", "I10.12345678"])
def test_normalize_refuses_what_is_not_a_code(typed):
    with pytest.raises(InvalidInput) as caught:
        icd10.normalize(typed, field="diagnosis")
    assert caught.value.field == "diagnosis"


def test_names_fall_back_to_the_category():
    assert icd10.name("I10") == "特发性(原发性)高血压"
    assert icd10.name("I10.x00x002") == "特发性(原发性)高血压"
    assert icd10.name("I21.401") == "急性心内膜下心肌梗死"
    assert icd10.name("I21.9") == "急性心肌梗死"
    assert icd10.name("Q99") is None


def test_search_by_code_prefix_and_by_chinese_name():
    codes = [code for code, _ in icd10.search("I2")]
    assert codes[:3] == ["I20", "I21", "I21.0"]
    assert ("I63", "脑梗死") in icd10.search("脑梗")
    assert icd10.search("") == []
    assert len(icd10.search("I", limit=5)) == 5
