"""The seed catalogue: the consortium monitoring indicators that our tables can compute today.

Loaded by the data migration and after every migrate / test flush (``load()``, which never
overwrites an official's correction). The chronic programmes and family doctors describe their
own indicators (``indicator_sources.CATALOGUE`` of each app), appended here. Indicators whose
tables do not exist yet (remote consultations and exams, satisfaction surveys) are left out.
"""

from __future__ import annotations

from typing import Any

DOC_2020 = "紧密型县域医疗卫生共同体监测指标体系（试行）（国卫办基层发〔2020〕12号）"
DOC_TCM = "基层中医药服务能力提升工程"
DOC_PH = "国家基本公共卫生服务规范（第三版）"

OP_EM = {"field": "kind", "op": "in", "value": ["outpatient", "emergency"]}
GRASSROOTS = {"field": "institution_level", "op": "in", "value": ["township", "village"]}
IN_COUNTY = {"field": "in_county", "op": "eq", "value": True}
RESIDENT = {"field": "residence_county_code", "op": "eq", "value": "$county"}
INPATIENT = {"field": "kind", "op": "eq", "value": "inpatient"}
VISITS = {"field": "kind", "op": "in", "value": ["outpatient", "emergency", "inpatient"]}
LEAD = {"field": "from_institution_kind", "op": "eq", "value": "lead_hospital"}
#: A referral that was withdrawn or refused moved nobody.
MADE = {"field": "status", "op": "not_in", "value": ["cancelled", "rejected"]}


def enc(*filters: dict[str, Any], measure: str = "count", field: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"source": "encounters", "filters": list(filters), "measure": measure}
    if field:
        data["field"] = field
    return data


def ref(*filters: dict[str, Any]) -> dict[str, Any]:
    return {"source": "referrals", "filters": [*filters, MADE], "measure": "count"}


def _i(
    code: str, zh: str, en: str, num: dict[str, Any], den: dict[str, Any] | None, **kw: Any
) -> dict[str, Any]:
    return {"code": code, "name_zh": zh, "name_en": en, "numerator": num, "denominator": den, **kw}


PCT = {"unit": "percent", "scale": "100"}

CATALOGUE: list[dict[str, Any]] = [
    _i(
        "grassroots_visit_share",
        "县域内基层医疗卫生机构门急诊占比",
        "Grassroots share of in-county outpatient and emergency visits",
        enc(OP_EM, IN_COUNTY, GRASSROOTS),
        enc(OP_EM, IN_COUNTY),
        **PCT,
        area="分级诊疗",
        description="基层（乡镇卫生院、村卫生室）门急诊人次 ÷ 县域内门急诊总人次",
        source_document=DOC_2020,
        target=65,
    ),
    _i(
        "in_county_admission_share",
        "县域内住院人次占比",
        "In-county share of residents' admissions",
        enc(INPATIENT, RESIDENT, IN_COUNTY),
        enc(INPATIENT, RESIDENT),
        **PCT,
        area="分级诊疗",
        description="本县居民在县域内住院人次 ÷ 本县居民住院总人次（含县外）",
        source_document=DOC_2020,
        target=90,
    ),
    _i(
        "in_county_visit_share",
        "县域内就诊率",
        "In-county share of residents' visits",
        enc(VISITS, RESIDENT, IN_COUNTY),
        enc(VISITS, RESIDENT),
        **PCT,
        area="分级诊疗",
        description="本县居民在县域内门急诊与住院人次 ÷ 本县居民就诊总人次",
        source_document=DOC_2020,
        target=90,
    ),
    _i(
        "lead_downward_referrals",
        "牵头医院下转患者人次数",
        "Downward referrals by the lead hospital",
        ref({"field": "direction", "op": "eq", "value": "downward"}, LEAD),
        None,
        unit="count",
        area="分级诊疗",
        description="牵头医院向基层下转的转诊单数（已提交，不含撤销和拒收）",
        source_document=DOC_2020,
    ),
    _i(
        "lead_downward_per_100_discharges",
        "牵头医院每百出院人次下转人次",
        "Lead hospital's downward referrals per 100 discharges",
        ref({"field": "direction", "op": "eq", "value": "downward"}, LEAD),
        enc(
            INPATIENT,
            {"field": "institution_kind", "op": "eq", "value": "lead_hospital"},
            {"field": "discharged_on", "op": "isnull", "value": False},
        ),
        unit="per_100",
        scale="100",
        area="分级诊疗",
        description="牵头医院下转人次 ÷ 牵头医院出院人次 × 100",
        source_document=DOC_2020,
    ),
    _i(
        "upward_referrals",
        "上转患者人次数",
        "Upward referrals",
        ref({"field": "direction", "op": "eq", "value": "upward"}),
        None,
        unit="count",
        area="分级诊疗",
        description="向上级医院上转的转诊单数（已提交，不含撤销和拒收）",
        source_document=DOC_2020,
    ),
    _i(
        "downward_referrals",
        "下转患者人次数",
        "Downward referrals",
        ref({"field": "direction", "op": "eq", "value": "downward"}),
        None,
        unit="count",
        area="分级诊疗",
        description="向基层下转的转诊单数（已提交，不含撤销和拒收）",
        source_document=DOC_2020,
    ),
    _i(
        "tcm_grassroots_share",
        "基层中医诊疗量占比",
        "TCM share of grassroots visits",
        enc(OP_EM, GRASSROOTS, {"field": "is_tcm", "op": "eq", "value": True}),
        enc(OP_EM, GRASSROOTS),
        **PCT,
        area="中医药",
        description="基层中医门急诊人次 ÷ 基层门急诊总人次",
        source_document=DOC_TCM,
        target="24.4",
    ),
    _i(
        "bed_use_county",
        "县级医院床位使用率",
        "Bed utilisation of county hospitals",
        enc(
            INPATIENT,
            {"field": "institution_level", "op": "eq", "value": "county"},
            measure="sum",
            field="bed_days",
        ),
        {
            "source": "beds",
            "filters": [{"field": "institution_level", "op": "eq", "value": "county"}],
            "measure": "sum",
            "field": "beds",
        },
        **PCT,
        area="资源利用",
        description="实际占用床日数（按入院月份计）÷ 实际开放床日数（核定床位 × 天数）",
        source_document=DOC_2020,
        target=85,
    ),
    _i(
        "bed_use_township",
        "乡镇卫生院床位使用率",
        "Bed utilisation of township centres",
        enc(
            INPATIENT,
            {"field": "institution_level", "op": "eq", "value": "township"},
            measure="sum",
            field="bed_days",
        ),
        {
            "source": "beds",
            "filters": [{"field": "institution_level", "op": "eq", "value": "township"}],
            "measure": "sum",
            "field": "beds",
        },
        **PCT,
        area="资源利用",
        description="实际占用床日数（按入院月份计）÷ 实际开放床日数（核定床位 × 天数）",
        source_document=DOC_2020,
        target=35,
    ),
    _i(
        "cost_per_inpatient",
        "次均住院费用",
        "Cost per inpatient stay",
        enc(INPATIENT, measure="sum", field="total_cost"),
        enc(INPATIENT),
        unit="yuan",
        scale="1",
        direction="lower",
        area="费用控制",
        description="住院总费用 ÷ 住院人次；“较上期”一栏即同比变化",
        source_document=DOC_2020,
    ),
    _i(
        "out_of_pocket_share",
        "个人自付费用占比",
        "Out-of-pocket share of costs",
        enc(measure="sum", field="out_of_pocket"),
        enc(measure="sum", field="total_cost"),
        **PCT,
        direction="lower",
        area="费用控制",
        description="个人自付金额 ÷ 医疗总费用",
        source_document=DOC_2020,
    ),
    _i(
        "health_record_filing_rate",
        "居民电子健康档案建档率",
        "Health-record filing rate",
        {
            "source": "residents",
            "filters": [{"field": "health_record_number", "op": "isnull", "value": False}],
            "measure": "count",
        },
        {"source": "population", "filters": [], "measure": "sum", "field": "permanent_residents"},
        **PCT,
        area="公共卫生",
        description="现有建档居民数（居民表不记建档日期，故按当前数）÷ 当年常住人口数",
        source_document=DOC_PH,
        target=90,
    ),
    _i(
        "online_consultations",
        "互联网诊疗人次",
        "Online consultations",
        enc({"field": "kind", "op": "eq", "value": "online"}),
        None,
        unit="count",
        area="互联网+医疗",
        description="互联网医院线上诊疗人次",
        source_document=DOC_2020,
    ),
    _i(
        "ai_consultations",
        "AI辅助问诊人次",
        "AI consultations",
        enc({"field": "kind", "op": "eq", "value": "ai_consultation"}),
        None,
        unit="count",
        area="互联网+医疗",
        description="“AI医生”线上问诊人次",
        source_document=DOC_2020,
    ),
    _i(
        "doctors_sent_down",
        "下沉基层医务人员人次",
        "Doctors sent down to the grassroots",
        {
            "source": "secondments",
            "filters": [{"field": "host_level", "op": "in", "value": ["township", "village"]}],
            "measure": "count",
            "attribute_to": "host",
        },
        None,
        unit="count",
        area="人力资源",
        description="期内开始派驻到乡镇卫生院、村卫生室的人次（按派驻单位计）",
        source_document=DOC_2020,
    ),
]


def _domain_rows() -> list[dict[str, Any]]:
    """The chronic programmes' and family doctors' seed indicators (their ``CATALOGUE``), with
    one correction: "standard management" counts each registry entry once a year, at its fourth
    follow-up of the year (``visit_in_year = 4``). Their draft counted distinct entries among
    follow-ups numbered 4 or more, which this language sums per month: a patient seen in
    October, November and December was counted three times in the year."""
    from yigongti.chronic.indicator_sources import CATALOGUE as CHRONIC
    from yigongti.familydoctor.indicator_sources import CATALOGUE as FAMILYDOCTOR

    rows = []
    for item in [*CHRONIC, *FAMILYDOCTOR]:
        item = dict(item)
        num = item["numerator"]
        if item["code"].endswith("_standard_management_rate"):
            filters = [f for f in num["filters"] if f["field"] != "visit_in_year"]
            filters.append({"field": "visit_in_year", "op": "eq", "value": 4})
            item["numerator"] = {"source": num["source"], "filters": filters, "measure": "count"}
        rows.append(item)
    return rows


CATALOGUE += _domain_rows()


def load(apps: Any = None) -> int:
    """Create the seed indicators that are missing (never overwrite an official's correction)."""
    if apps is None:
        from django.apps import apps as live

        apps = live
    indicator_model = apps.get_model("indicators", "Indicator")
    made = 0
    for position, item in enumerate(CATALOGUE, start=1):
        data = {k: v for k, v in item.items() if k not in {"code", "target"}}
        _, created = indicator_model.objects.get_or_create(
            code=item["code"], defaults={**data, "position": position * 10}
        )
        made += int(created)
    return made


TARGETS: dict[str, Any] = {i["code"]: i["target"] for i in CATALOGUE if "target" in i}
