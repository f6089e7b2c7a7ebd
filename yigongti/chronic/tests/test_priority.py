"""The registers answer familydoctor's priority groups (chronic → familydoctor.hooks, one way)."""

from __future__ import annotations

from typing import Any

import pytest

from yigongti.chronic.models import Enrollment
from yigongti.chronic.priority import registry_groups
from yigongti.familydoctor import hooks

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db


def test_registered_when_the_app_is_ready() -> None:
    assert hooks.PRIORITY_RESOLVERS.count(registry_groups) == 1


def test_registers_answer_hypertension_and_diabetes(cc: Any) -> None:
    patient = cc.patients["ht"]
    assert "hypertension" not in hooks.priority_groups(patient, days_ago(0))
    enrol(cc, "ht")
    enrol(cc, "ht", programme="diabetes", diagnosed=100)
    assert {"hypertension", "diabetes"} <= set(hooks.priority_groups(patient, days_ago(0)))
    # before the diabetes diagnosis only hypertension; a closed entry no longer counts
    assert registry_groups(patient, days_ago(200)) == {"hypertension"}
    Enrollment.objects.filter(patient=patient, programme="diabetes").update(is_active=False)
    assert registry_groups(patient, days_ago(0)) == {"hypertension"}
    assert registry_groups(cc.patients["young"], days_ago(0)) == set()
