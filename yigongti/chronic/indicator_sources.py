"""The chronic programmes' indicator sources and seed indicators, for the indicators app.

Nothing here runs unless the indicators app asks: ``sources()`` imports its ``Source`` and
``FieldSpec`` lazily (``chronic`` does not depend on ``indicators``), and ``CATALOGUE`` is plain
JSON-ready data in the shape of ``indicators/seed.py``. To register (done by the lead in
``yigongti/indicators``):

    from yigongti.chronic import indicator_sources
    SOURCES.update(indicator_sources.sources())          # definitions.py, after SOURCES
    CATALOGUE += indicator_sources.CATALOGUE             # seed.py (and a data migration to load)
    chronic_changed.connect(...)                         # hooks.py: yigongti.chronic.signals

Estimated patients (the management rate's denominator) follow the standard's service target,
residents aged **35 or over**, times a configurable prevalence (default 25 % hypertension, 10 %
type 2 diabetes), kept per year and village as ``ProgrammeReference`` with the provincial quota;
its ``elderly`` rows hold the residents aged 65 or over (prevalence 1), the elderly rate's
denominator.
"""

from __future__ import annotations

from typing import Any

PROGRAMMES = ("hypertension", "diabetes")
CLASSIFICATIONS = ("controlled", "uncontrolled", "refer", "urgent")
BANDS = ("independent", "mild", "moderate", "severe")


def sources() -> dict[str, Any]:
    """``name -> Source`` for ``indicators.definitions.SOURCES``."""
    from django.utils.translation import gettext_lazy as _

    from yigongti.indicators.definitions import FieldSpec, Source, _inst_fields

    village = {"village": "village_id"}
    return {
        "chronic_registry": Source(
            name="chronic_registry",
            label=_("Hypertension and diabetes registry"),
            model="chronic.Enrollment",
            # an entry is managed from its enrolment until it is closed: a period reads the entries
            # on the register at its end (``is_active`` and ``last_on_target`` are today's)
            timing="interval",
            date_field="enrolled_on",
            end_fields=("closed_on",),
            institutions=village,
            fields={
                "programme": FieldSpec("programme", "text", PROGRAMMES),
                "risk_level": FieldSpec("risk_level", "text", ("low", "medium", "high", "very_high")),
                "is_active": FieldSpec("is_active", "bool"),
                "last_on_target": FieldSpec("last_on_target", "bool"),
                "last_visit_date": FieldSpec("last_visit_date", "date"),
                **_inst_fields("village", "village"),
            },
            distincts={"patient": "patient_id"},
            record_fields=("programme", "diagnosed_on", "enrolled_on", "risk_level", "last_on_target"),
        ),
        "chronic_standing": Source(
            name="chronic_standing",
            label=_("Latest chronic disease follow-ups"),
            model="chronic.FollowUp",
            # a follow-up is its entry's latest from its date until the next one or the entry's
            # closing: a period reads the latest follow-up of each entry on the register at its end
            timing="interval",
            date_field="visit_date",
            end_fields=("until", "enrollment__closed_on"),
            institutions=village,
            fields={
                "programme": FieldSpec("programme", "text", PROGRAMMES),
                "classification": FieldSpec("classification", "text", CLASSIFICATIONS),
                "on_target": FieldSpec("on_target", "bool"),
                **_inst_fields("village", "village"),
            },
            distincts={"patient": "patient_id", "enrollment": "enrollment_id"},
            record_fields=("visit_date", "programme", "sbp", "dbp", "fasting_glucose", "classification"),
        ),
        "chronic_follow_ups": Source(
            name="chronic_follow_ups",
            label=_("Chronic disease follow-ups"),
            model="chronic.FollowUp",
            timing="flow",
            date_field="visit_date",
            institutions=village,
            fields={
                "programme": FieldSpec("programme", "text", PROGRAMMES),
                "classification": FieldSpec("classification", "text", CLASSIFICATIONS),
                "on_target": FieldSpec("on_target", "bool"),
                "visit_in_year": FieldSpec("visit_in_year", "number"),
                **_inst_fields("village", "village"),
            },
            distincts={"patient": "patient_id", "enrollment": "enrollment_id"},
            record_fields=("visit_date", "programme", "sbp", "dbp", "fasting_glucose", "classification"),
        ),
        "elderly_services": Source(
            name="elderly_services",
            label=_("Elderly health services"),
            model="chronic.ElderlyService",
            timing="flow",
            date_field="service_date",
            institutions=village,
            fields={
                "self_care_band": FieldSpec("self_care_band", "text", BANDS),
                "first_in_year": FieldSpec("first_in_year", "bool"),
                **_inst_fields("village", "village"),
            },
            distincts={"patient": "patient_id"},
            record_fields=("service_date", "self_care_score", "self_care_band"),
        ),
        "chronic_reference": Source(
            name="chronic_reference",
            label=_("Estimated patients and quotas"),
            model="chronic.ProgrammeReference",
            timing="annual",
            date_field="year",
            institutions={"institution": "institution_id"},
            fields={
                "programme": FieldSpec("programme", "text", (*PROGRAMMES, "elderly")),
                **_inst_fields("institution", "institution"),
            },
            sums=frozenset({"estimated_patients", "quota", "residents_35"}),
            record_fields=("year", "programme", "prevalence", "estimated_patients", "quota"),
        ),
    }


DOC_PH = "国家基本公共卫生服务规范（第三版）"
PCT = {"unit": "percent", "scale": "100"}


def _prog(programme: str) -> dict[str, Any]:
    return {"field": "programme", "op": "eq", "value": programme}


def _registry(programme: str) -> dict[str, Any]:
    """The programme's entries on the register at the period's end."""
    return {"source": "chronic_registry", "filters": [_prog(programme)], "measure": "count"}


def _on_target(programme: str) -> dict[str, Any]:
    """The programme's entries whose latest follow-up by the period's end was on target."""
    on_target = {"field": "on_target", "op": "eq", "value": True}
    return {"source": "chronic_standing", "filters": [_prog(programme), on_target], "measure": "count"}


def _reference(programme: str, field: str) -> dict[str, Any]:
    return {"source": "chronic_reference", "filters": [_prog(programme)], "measure": "sum", "field": field}


def _i(
    code: str, zh: str, en: str, num: dict[str, Any], den: dict[str, Any] | None, **kw: Any
) -> dict[str, Any]:
    return {"code": code, "name_zh": zh, "name_en": en, "numerator": num, "denominator": den, **kw}


def _programme_rows(programme: str, zh: str, en: str, target_control: int) -> list[dict[str, Any]]:
    standard = {
        "source": "chronic_follow_ups",
        "filters": [_prog(programme), {"field": "visit_in_year", "op": "gte", "value": 4}],
        "measure": "distinct",
        "field": "enrollment",
    }
    control = "血压" if programme == "hypertension" else "血糖"
    control_en = "Blood-pressure" if programme == "hypertension" else "Glucose"
    return [
        _i(
            f"{programme}_management_rate",
            f"{zh}患者管理率",
            f"{en} management rate",
            _registry(programme),
            _reference(programme, "estimated_patients"),
            **PCT,
            area="公共卫生",
            description=f"在管{zh}患者数 ÷ 估算患者数（35岁及以上常住居民数 × 患病率）",
            source_document=DOC_PH,
        ),
        _i(
            f"{programme}_standard_management_rate",
            f"{zh}患者规范管理率",
            f"{en} standard-management rate",
            standard,
            _registry(programme),
            **PCT,
            area="公共卫生",
            description=f"年内按规范（每年至少4次面对面随访）管理的{zh}患者数 ÷ 在管患者数；请按年查看",
            source_document=DOC_PH,
            target=70,
        ),
        _i(
            f"{programme}_control_rate",
            f"管理人群{control}控制率",
            f"{control_en} control rate of managed {en.lower()} patients",
            _on_target(programme),
            _registry(programme),
            **PCT,
            area="公共卫生",
            description=f"最近一次随访{control}达标的在管患者数 ÷ 在管患者数",
            source_document=DOC_PH,
            target=target_control,
        ),
        _i(
            f"{programme}_quota_completion",
            f"{zh}患者管理任务完成率",
            f"{en} quota completion",
            _registry(programme),
            _reference(programme, "quota"),
            **PCT,
            area="公共卫生",
            description="在管患者数 ÷ 省级下达的管理任务数",
            source_document=DOC_PH,
            target=100,
        ),
    ]


CATALOGUE: list[dict[str, Any]] = [
    *_programme_rows("hypertension", "高血压", "Hypertension", 60),
    *_programme_rows("diabetes", "2型糖尿病", "Type 2 diabetes", 60),
    _i(
        "elderly_management_rate",
        "老年人健康管理率",
        "Elderly health management rate",
        {
            "source": "elderly_services",
            # once a year per resident: monthly cells summed over the year would count a resident
            # served in two months twice
            "filters": [{"field": "first_in_year", "op": "eq", "value": True}],
            "measure": "distinct",
            "field": "patient",
        },
        _reference("elderly", "estimated_patients"),
        **PCT,
        area="公共卫生",
        description="年内接受健康管理的65岁及以上老年人数 ÷ 65岁及以上常住居民数；请按年查看",
        source_document=DOC_PH,
        target=70,
    ),
]
