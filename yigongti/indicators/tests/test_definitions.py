"""The definition language refuses every broken part with a message that names it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from yigongti.indicators import definitions
from yigongti.indicators.models import Indicator

OK = {
    "source": "encounters",
    "filters": [{"field": "kind", "op": "in", "value": ["outpatient"]}],
    "measure": "count",
}


def test_a_valid_definition_has_a_stable_key():
    a = definitions.validate(OK)
    b = definitions.validate({**OK, "filters": [{"op": "in", "value": ["outpatient"], "field": "kind"}]})
    assert a.key == b.key and len(a.key) == 32
    assert a.as_json()["attribute_to"] == "institution"


@pytest.mark.parametrize(
    ("definition", "names"),
    [
        ("x", "a definition must be a JSON object"),
        ({"source": "salaries"}, "source"),
        ({**OK, "filters": {"kind": 1}}, "filters"),
        ({**OK, "filters": [{"field": "colour", "op": "eq", "value": "red"}]}, "filters[0].field"),
        ({**OK, "filters": [{"field": "kind", "op": "like", "value": "out%"}]}, "filters[0].op"),
        ({**OK, "filters": [{"field": "kind", "op": "eq", "value": "walk_in"}]}, "filters[0].value"),
        ({**OK, "filters": [{"field": "kind", "op": "in", "value": []}]}, "filters[0].value"),
        (
            {**OK, "filters": [{"field": "admitted_on", "op": "gte", "value": "2025-02-30"}]},
            "filters[0].value",
        ),
        ({**OK, "filters": [{"field": "is_tcm", "op": "eq", "value": "yes"}]}, "filters[0].value"),
        ({**OK, "filters": [{"field": "total_cost", "op": "gt", "value": "lots"}]}, "filters[0].value"),
        ({**OK, "filters": [{"field": "kind", "op": "eq"}]}, "filters[0].value"),
        ({**OK, "measure": "median"}, "measure"),
        ({**OK, "measure": "sum", "field": "diagnosis_code"}, "field"),
        ({**OK, "measure": "sum"}, "field"),
        ({**OK, "measure": "distinct", "field": "kind"}, "field"),
        ({**OK, "measure": "count", "field": "total_cost"}, "field"),
        ({**OK, "attribute_to": "patient"}, "attribute_to"),
        ({**OK, "colour": "red"}, "colour"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_part(definition, names):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        definitions.validate(definition, where="numerator")
    with translation.override("en"):
        assert names in " ".join(exc.value.messages)


@pytest.mark.django_db
def test_the_model_refuses_a_broken_numerator_and_keeps_the_catalogue():
    indicator = Indicator(code="broken", name_zh="坏", name_en="Broken", numerator={**OK, "measure": "avg"})
    with pytest.raises(ValidationError) as exc:
        indicator.full_clean()
    assert "numerator" in exc.value.message_dict
    assert "numerator.measure" in exc.value.message_dict["numerator"][0]
    with pytest.raises(ValidationError):
        indicator.save()
    assert not Indicator.objects.filter(code="broken").exists()


@pytest.mark.django_db
def test_the_seed_catalogue_is_loaded_and_valid():
    codes = set(Indicator.objects.values_list("code", flat=True))
    assert {"grassroots_visit_share", "in_county_admission_share", "health_record_filing_rate"} <= codes
    for indicator in Indicator.objects.all():
        indicator.full_clean()
