"""An official's correction in the admin (definition, measure, unit, active) and bulk resident
loads recompute what they change: the cells equal a computation from scratch afterwards."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.indicators import engine
from yigongti.indicators.models import Indicator, IndicatorCell, IndicatorPart
from yigongti.patients.models import Patient
from yigongti.patients.services import HouseholdRow, ResidentRow, residents_bulk_insert

pytestmark = pytest.mark.django_db


def _admin_client() -> Client:
    user = get_user_model().objects.create_superuser(username="t_admin", password="x-Secret-2025")
    client = Client()
    client.force_login(user)
    return client


def _post_change(client: Client, indicator: Indicator, **changes: Any) -> Any:
    url = f"/admin/indicators/indicator/{indicator.pk}/change/"
    page = client.get(url).content.decode()
    prefix = re.search(r'name="([\w-]+)-TOTAL_FORMS"', page)
    assert prefix is not None
    p = prefix.group(1)
    data: dict[str, Any] = {
        "code": indicator.code,
        "name_zh": indicator.name_zh,
        "name_en": indicator.name_en,
        "description": indicator.description,
        "area": indicator.area,
        "numerator": json.dumps(indicator.numerator),
        "denominator": json.dumps(indicator.denominator) if indicator.denominator else "",
        "scale": str(indicator.scale),
        "unit": indicator.unit,
        "direction": indicator.direction,
        "source_document": indicator.source_document,
        "position": indicator.position,
        f"{p}-TOTAL_FORMS": "0",
        f"{p}-INITIAL_FORMS": "0",
        f"{p}-MIN_NUM_FORMS": "0",
        f"{p}-MAX_NUM_FORMS": "1000",
    }
    if indicator.is_active:
        data["is_active"] = "on"
    data.update(changes)
    if changes.get("is_active") is False:
        data.pop("is_active")
    return client.post(url, data)


def _value(client: Client, code: str, period: str) -> dict[str, Any]:
    rows = client.get("/api/indicators", {"period": period, "by": "consortium", "code": code}).json()
    return rows[0]


def test_an_admin_edit_of_a_definition_and_its_measure_recomputes(data: Any) -> None:
    admin = _admin_client()
    office = Client()
    office.force_login(data.users[Role.CONSORTIUM_OFFICE])
    indicator = Indicator.objects.get(code="online_consultations")
    before = _value(office, "online_consultations", "2025")

    # the measure: visits -> patient-months, and a new filter (kind) -> new parts, computed
    numerator = {
        "source": "encounters",
        "filters": [{"field": "kind", "op": "in", "value": ["online", "ai_consultation"]}],
        "measure": "distinct",
        "field": "patient",
    }
    response = _post_change(admin, indicator, numerator=json.dumps(numerator), unit="count")
    assert response.status_code == 302, response.content.decode()[:2000]
    indicator.refresh_from_db()
    assert indicator.numerator["measure"] == "distinct"
    key = indicator.parts()[0].key
    assert IndicatorPart.objects.filter(key=key).exists()
    assert IndicatorCell.objects.filter(part_id=key).exists()
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    after = _value(office, "online_consultations", "2025")
    assert after["numerator"] != before["numerator"] or after["value"] != before["value"]

    # a broken definition is refused with the part named, and nothing changes
    broken = {**numerator, "measure": "median"}
    response = _post_change(admin, indicator, numerator=json.dumps(broken))
    assert response.status_code == 200 and "numerator.measure" in response.content.decode()
    assert engine.snapshot() == incremental

    # deactivated: its parts (used by no other indicator) are dropped
    response = _post_change(admin, indicator, is_active=False)
    assert response.status_code == 302
    assert not IndicatorPart.objects.filter(key=key).exists()
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def test_bulk_resident_loads_keep_the_residents_cells_current(county: Any) -> None:
    engine.rebuild()
    households = [
        HouseholdRow(code=f"HH-T-{i}", village_id=county.village.pk, address="东山村") for i in range(3)
    ]
    residents = [
        ResidentRow(
            household=i % 3,
            health_record_number=f"{44182399900000000 + i}",
            id_number=None,
            name=f"测试{i}",
            sex="F" if i % 2 else "M",
            birth_date=dt.date(1980 + i, 1, 1),
            phone="",
            relation_to_head="self" if i < 3 else "child",
            village_id=county.village.pk if i % 2 else county.other_village.pk,
            address="东山村",
        )
        for i in range(8)
    ]
    before = Patient.objects.count()
    residents_bulk_insert(households=households, residents=residents)
    assert Patient.objects.count() == before + 8
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental


def test_a_change_of_an_institutions_kind_recomputes_the_cells_filtered_on_it(data: Any) -> None:
    before = engine.snapshot()
    township = data.township
    township.kind = "tcm_hospital"  # a township centre upgraded to a county hospital: level county
    township.save()
    after = engine.snapshot()
    assert after != before  # its visits left the grassroots numerators
    engine.rebuild()
    assert engine.snapshot() == after


def test_import_residents_keeps_the_residents_cells_current(county: Any, tmp_path: Any) -> None:
    from django.core.cache import cache
    from django.core.management import call_command

    from yigongti.patients.tests.test_import import PEOPLE, VILLAGE_ADDRESS, write_csv

    cache.clear()
    county.village.address = VILLAGE_ADDRESS
    county.village.save()
    engine.rebuild()
    before = engine.snapshot()
    source = write_csv(tmp_path / "residents.csv", PEOPLE)
    call_command("import_residents", str(source), "--links-out", str(tmp_path / "l.csv"), "--no-progress")
    cache.clear()
    assert Patient.objects.filter(village=county.village, name="陈志强").exists()
    incremental = engine.snapshot()
    assert incremental != before  # the village's residents count moved
    engine.rebuild()
    assert engine.snapshot() == incremental
