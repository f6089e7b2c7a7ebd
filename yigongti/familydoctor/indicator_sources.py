"""Indicator sources and seed indicators of the family-doctor app, for the indicator catalogue.

This module does not import the indicators app at import time (family doctors must work without
it); ``sources()`` builds the ``Source`` objects when the indicators app asks for them. The
indicators app registers them (see docs/familydoctor.md, "Indicators")::

    from yigongti.familydoctor.indicator_sources import CATALOGUE, sources
    SOURCES.update(sources())          # in indicators/definitions.py, after SOURCES is defined
    CATALOGUE += familydoctor CATALOGUE rows   # in indicators/seed.py (or a data migration)

Every contract is attributed to the village clinic of the resident (``village``) by default, or
to the team's home institution (``team``); home visits likewise; a fulfilment task to the village
it was planned for (``Task.village``, the resident's then) or the team's institution.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CONTRACT_STATUSES = ("pending", "active", "renewed", "expired", "terminated", "cancelled")
TASK_STATUSES = ("open", "done", "cancelled")
VISIT_STATUSES = ("scheduled", "done", "missed")
#: ``choices.PriorityGroup`` codes (kept here as data: this module imports no models).
PRIORITY_GROUPS = (
    "elderly",
    "hypertension",
    "diabetes",
    "pregnant",
    "child",
    "disabled",
    "poor",
    "mental",
    "tuberculosis",
)


def sources() -> dict[str, Any]:
    """``{name: Source}`` for ``indicators.definitions.SOURCES``."""
    from yigongti.indicators.definitions import FieldSpec, Source, _inst_fields

    return {
        "fd_contracts": Source(
            name="fd_contracts",
            label=_("Family-doctor contracts"),
            model="familydoctor.Contract",
            # the current status of each contract is what counts (an active contract today), so
            # every period reads today's rows, as for residents
            timing="snapshot",
            date_field="start_date",
            institutions={"village": "patient__village_id", "team": "team__institution_id"},
            fields={
                "status": FieldSpec("status", "text", CONTRACT_STATUSES),
                "is_priority": FieldSpec("is_priority", "bool"),
                "priority_groups": FieldSpec("priority_groups", "list", PRIORITY_GROUPS),
                "channel": FieldSpec("channel", "text", ("clinic", "online")),
                "start_date": FieldSpec("start_date", "date"),
                "end_date": FieldSpec("end_date", "date"),
                **_inst_fields("patient__village", "village"),
                **_inst_fields("team__institution", "team_institution"),
            },
            sums=frozenset({"fee", "resident_fee"}),
            distincts={"patient": "patient_id"},
            base=lambda: Q(patient__merged_into__isnull=True),
            record_fields=("number", "status", "start_date", "end_date", "is_priority"),
        ),
        "fd_tasks": Source(
            name="fd_tasks",
            label=_("Fulfilment tasks"),
            model="familydoctor.Task",
            timing="flow",
            date_field="due_on",
            # the village the task was planned for (``Task.village``, the resident's then): one
            # column, so SQLite reads the cube in the order of its analytic index, no join, no sort
            institutions={
                "village": "village_id",
                "team": "contract__team__institution_id",
            },
            fields={
                "status": FieldSpec("status", "text", TASK_STATUSES),
                "done_on": FieldSpec("done_on", "date"),
                **_inst_fields("village", "village"),
            },
            record_fields=("due_on", "status", "done_on"),
            dimensions=("status",),
            analytic_sums=frozenset(),
        ),
        "fd_home_visits": Source(
            name="fd_home_visits",
            label=_("Home visits"),
            model="familydoctor.HomeVisit",
            timing="flow",
            date_field="scheduled_on",
            institutions={
                "village": "contract__patient__village_id",
                "team": "contract__team__institution_id",
            },
            fields={
                "status": FieldSpec("status", "text", VISIT_STATUSES),
                "home_bed": FieldSpec("home_bed", "ref"),
                **_inst_fields("contract__patient__village", "village"),
            },
            record_fields=("scheduled_on", "status", "done_on"),
        ),
    }


ACTIVE = {"field": "status", "op": "eq", "value": "active"}
PRIORITY = {"field": "is_priority", "op": "eq", "value": True}
NOT_CANCELLED = {"field": "status", "op": "ne", "value": "cancelled"}
DOC = "关于推进家庭医生签约服务高质量发展的指导意见（国卫基层发〔2022〕10号）"
PCT = {"unit": "percent", "scale": "100"}


def _contracts(*filters: dict[str, Any]) -> dict[str, Any]:
    return {"source": "fd_contracts", "filters": list(filters), "measure": "count"}


def _in_group(group: str) -> dict[str, Any]:
    return {"field": "priority_groups", "op": "contains", "value": group}


def _registry(programme: str) -> dict[str, Any]:
    """Residents on the chronic app's register at the period's end (one entry per resident and
    programme)."""
    return {
        "source": "chronic_registry",
        "filters": [{"field": "programme", "op": "eq", "value": programme}],
        "measure": "count",
    }


#: Residents aged 65 or over per village, counted from their birth dates on 1 July of the year
#: (the chronic app's ``elderly`` reference rows, ``reference_compute``).
ELDERLY_RESIDENTS = {
    "source": "chronic_reference",
    "filters": [{"field": "programme", "op": "eq", "value": "elderly"}],
    "measure": "sum",
    "field": "residents_35",
}

#: The priority groups whose residents are on file, so that their coverage has a real
#: denominator: (group, name, English name, denominator, how the denominator is counted). The
#: other groups (pregnant women, children, disabled, poor, severe mental illness, tuberculosis)
#: have no register here yet, and the groups overlap, so there is no sound "all priority
#: residents" denominator either.
COVERED_GROUPS: list[tuple[str, str, str, dict[str, Any], str]] = [
    (
        "elderly",
        "65岁及以上老年人签约覆盖率",
        "Contract coverage of residents aged 65 or over",
        ELDERLY_RESIDENTS,
        "65岁及以上建档居民数（按出生日期计至当年7月1日，即慢病模块“老年人”参考数据）；请按年查看",
    ),
    (
        "hypertension",
        "高血压患者签约覆盖率",
        "Contract coverage of hypertension patients",
        _registry("hypertension"),
        "高血压在管患者数（慢病登记，至期末已登记且仍在管）",
    ),
    (
        "diabetes",
        "2型糖尿病患者签约覆盖率",
        "Contract coverage of type 2 diabetes patients",
        _registry("diabetes"),
        "2型糖尿病在管患者数（慢病登记，至期末已登记且仍在管）",
    ),
]


def _group_coverage(
    group: str, zh: str, en: str, denominator: dict[str, Any], counted: str
) -> dict[str, Any]:
    return {
        "code": f"fd_coverage_{group}",
        "name_zh": zh,
        "name_en": en,
        "numerator": _contracts(ACTIVE, _in_group(group)),
        "denominator": denominator,
        **PCT,
        "area": "家庭医生签约",
        "description": (
            "有效签约中属于该重点人群的居民数（签约时按年龄和慢病登记确定，登记变化时随之更新） ÷ " + counted
        ),
        "source_document": DOC,
    }


#: Seed indicators, in the shape of ``indicators.seed.CATALOGUE``.
CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "fd_contract_coverage",
        "name_zh": "家庭医生签约覆盖率",
        "name_en": "Family-doctor contract coverage",
        "numerator": _contracts(ACTIVE),
        "denominator": {"source": "residents", "filters": [], "measure": "count"},
        **PCT,
        "area": "家庭医生签约",
        "description": "有效签约居民数 ÷ 建档居民数",
        "source_document": DOC,
        "target": 35,
    },
    {
        "code": "fd_priority_share",
        "name_zh": "重点人群占有效签约比例",
        "name_en": "Priority groups' share of active contracts",
        "numerator": _contracts(ACTIVE, PRIORITY),
        "denominator": _contracts(ACTIVE),
        **PCT,
        "area": "家庭医生签约",
        "description": (
            "有效签约中属于重点人群（老年人、慢病、孕产妇、儿童、残疾人、脱贫人口、"
            "严重精神障碍、肺结核）的人数 ÷ 有效签约人数"
        ),
        "source_document": DOC,
        "target": 70,
    },
    *(_group_coverage(*group) for group in COVERED_GROUPS),
    {
        "code": "fd_fulfilment_rate",
        "name_zh": "签约服务履约率",
        "name_en": "Contract fulfilment rate",
        "numerator": {
            "source": "fd_tasks",
            "filters": [{"field": "status", "op": "eq", "value": "done"}],
            "measure": "count",
        },
        "denominator": {"source": "fd_tasks", "filters": [NOT_CANCELLED], "measure": "count"},
        **PCT,
        "area": "家庭医生签约",
        "description": "当月应完成的签约服务项目中已完成的比例（已取消的不计）",
        "source_document": DOC,
        "target": 80,
    },
    {
        "code": "fd_home_visits_done",
        "name_zh": "家庭医生上门服务人次",
        "name_en": "Home visits by family-doctor teams",
        "numerator": {
            "source": "fd_home_visits",
            "filters": [{"field": "status", "op": "eq", "value": "done"}],
            "measure": "count",
        },
        "denominator": None,
        "unit": "count",
        "area": "家庭医生签约",
        "description": "家庭医生团队完成的上门服务（含家庭病床查床）人次",
        "source_document": DOC,
    },
]
