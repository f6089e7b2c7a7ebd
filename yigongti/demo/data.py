"""Reference data for the demo county, modelled on Yangshan county, Qingyuan, Guangdong (441823).

Everything here is plain data so that the generator stays short and a reader can check the
figures in one place. Where a number is a real figure it says so; the rest are plausible
approximations chosen to give a realistic picture, not statistics to quote.
"""

from __future__ import annotations

from typing import NamedTuple

COUNTY_CODE = "441823"
COUNTY_NAME = "阳山县"
ADDRESS_PREFIX = "广东省清远市阳山县"
CONSORTIUM_CODE = "441823001"
CONSORTIUM_NAME = "阳山县医共体总医院"


class Township(NamedTuple):
    """A township: its 3-digit code inside the county, name, village count and population weight."""

    code: str
    name: str
    centre_name: str
    villages: int
    weight: int


# Yangshan has 12 towns and one ethnic township (秤架瑶族乡). The 3-digit codes follow the pattern
# of the statistical division codes (1xx towns, 2xx townships) but are not the official digits.
# 159 village clinics in all, as in the seed report; weights are approximate population shares.
TOWNSHIPS: tuple[Township, ...] = (
    Township("101", "阳城镇", "阳城镇卫生院", 20, 190),
    Township("102", "黎埠镇", "黎埠镇中心卫生院", 16, 110),
    Township("103", "七拱镇", "七拱镇中心卫生院", 14, 90),
    Township("104", "太平镇", "太平镇卫生院", 13, 70),
    Township("105", "杜步镇", "杜步镇卫生院", 10, 50),
    Township("106", "小江镇", "小江镇卫生院", 12, 60),
    Township("107", "青莲镇", "青莲镇卫生院", 15, 70),
    Township("108", "江英镇", "江英镇卫生院", 9, 40),
    Township("109", "杨梅镇", "杨梅镇卫生院", 11, 50),
    Township("110", "大崀镇", "大崀镇卫生院", 12, 50),
    Township("111", "岭背镇", "岭背镇卫生院", 12, 60),
    Township("112", "黄坌镇", "黄坌镇卫生院", 9, 40),
    Township("201", "秤架瑶族乡", "秤架瑶族乡卫生院", 6, 25),
)

# Village names in northern Guangdong are mostly two characters: a descriptive first character and
# a landscape word (坑 gully, 垌 field in a valley, 陂 weir, 坳 col ...).
VILLAGE_FIRST = (
    "东西南北上下大小新石水黄龙凤白青高长江岭山田塘松竹梅桃莲沙湖岗坪河金银马牛鹤茶桂平和太福安联红光明"
    "横中前后三五七九社洞湾背坑"
)
VILLAGE_SECOND = "坑岭塘洞坪田山水头湾背江冲陂围寨岗坝口源溪垌岩桥屋坳圩埠洲边村"
#: Pairs that read as ordinary words rather than place names (下岗 "laid off", 上山 "uphill" ...).
VILLAGE_AVOID = frozenset(
    {"下岗", "上岗", "上山", "下山", "下水", "上水", "开口", "出口", "山水", "江山", "石头", "后背", "口头"}
)

# (institution code suffix, name, short name, kind); the lead hospital first, the others hang on it.
COUNTY_INSTITUTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("000001", "阳山县人民医院", "县人民医院", "lead_hospital"),
    ("000002", "阳山县中医院", "县中医院", "tcm_hospital"),
    ("000003", "阳山县妇幼保健院", "县妇幼保健院", "maternal_child"),
    ("000004", "阳山县慢性病防治院", "县慢病院", "chronic_disease"),
    ("000005", "阳山县120急救指挥中心", "120中心", "emergency_centre"),
)
BUREAU = ("000900", "阳山县卫生健康局", "县卫健局")

# (full code, name, short name, external level)
EXTERNAL_HOSPITALS: tuple[tuple[str, str, str, str], ...] = (
    ("440104000001", "广东省人民医院", "省人民医院", "provincial"),
    ("441802000001", "清远市人民医院", "市人民医院", "municipal"),
    ("441802000002", "清远市中医院", "市中医院", "municipal"),
)


class DeptSpec(NamedTuple):
    """A department template: code, name, category, beds, and a weight for placing staff."""

    code: str
    name: str
    category: str
    beds: int
    staff_weight: int


LEAD_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("A01", "医共体管理办公室", "administration", 0, 3),
    DeptSpec("A02", "医务科", "administration", 0, 3),
    DeptSpec("C01", "心血管内科", "internal_medicine", 60, 8),
    DeptSpec("C02", "呼吸内科", "internal_medicine", 55, 7),
    DeptSpec("C03", "消化内科", "internal_medicine", 45, 6),
    DeptSpec("C04", "神经内科", "internal_medicine", 50, 7),
    DeptSpec("C05", "内分泌科", "internal_medicine", 30, 4),
    DeptSpec("C06", "普通外科", "surgery", 60, 8),
    DeptSpec("C07", "骨科", "surgery", 55, 7),
    DeptSpec("C08", "神经外科", "surgery", 35, 5),
    DeptSpec("C09", "泌尿外科", "surgery", 30, 4),
    DeptSpec("C10", "妇产科", "obstetrics", 50, 7),
    DeptSpec("C11", "儿科", "paediatrics", 45, 6),
    DeptSpec("C12", "急诊科", "emergency", 20, 7),
    DeptSpec("C13", "重症医学科", "icu", 16, 6),
    DeptSpec("C14", "中医科", "tcm", 20, 3),
    DeptSpec("C15", "康复医学科", "rehabilitation", 25, 3),
    DeptSpec("C16", "感染性疾病科", "infectious", 24, 3),
    DeptSpec("M01", "医学影像科", "imaging", 0, 5),
    DeptSpec("M02", "检验科", "laboratory", 0, 5),
    DeptSpec("M03", "心电图室", "ecg", 0, 2),
    DeptSpec("M04", "病理科", "pathology", 0, 2),
    DeptSpec("M05", "药剂科", "pharmacy", 0, 5),
    DeptSpec("P01", "公共卫生科", "public_health", 0, 2),
)

TCM_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("A01", "院办公室", "administration", 0, 2),
    DeptSpec("C01", "中医内科", "tcm", 60, 8),
    DeptSpec("C02", "针灸推拿科", "tcm", 30, 5),
    DeptSpec("C03", "中医骨伤科", "surgery", 40, 5),
    DeptSpec("C04", "中医妇科", "obstetrics", 20, 3),
    DeptSpec("C05", "康复科", "rehabilitation", 30, 4),
    DeptSpec("C06", "治未病科", "tcm", 0, 2),
    DeptSpec("M01", "放射科", "imaging", 0, 2),
    DeptSpec("M02", "检验科", "laboratory", 0, 2),
    DeptSpec("M05", "中药房", "pharmacy", 0, 3),
)

MCH_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("A01", "院办公室", "administration", 0, 2),
    DeptSpec("C01", "产科", "obstetrics", 40, 6),
    DeptSpec("C02", "妇科", "obstetrics", 25, 4),
    DeptSpec("C03", "儿科", "paediatrics", 30, 5),
    DeptSpec("C04", "新生儿科", "paediatrics", 15, 3),
    DeptSpec("P01", "儿童保健科", "public_health", 0, 3),
    DeptSpec("P02", "妇女保健科", "public_health", 0, 2),
    DeptSpec("M01", "超声科", "imaging", 0, 2),
    DeptSpec("M02", "检验科", "laboratory", 0, 2),
    DeptSpec("M05", "药剂科", "pharmacy", 0, 2),
)

CHRONIC_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("A01", "院办公室", "administration", 0, 2),
    DeptSpec("C01", "慢病内科", "internal_medicine", 30, 5),
    DeptSpec("C02", "结核病科", "infectious", 20, 3),
    DeptSpec("C03", "精神心理科", "internal_medicine", 20, 3),
    DeptSpec("P01", "慢病管理科", "public_health", 0, 4),
    DeptSpec("M01", "放射科", "imaging", 0, 1),
    DeptSpec("M02", "检验科", "laboratory", 0, 1),
    DeptSpec("M05", "药房", "pharmacy", 0, 1),
)

EMERGENCY_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("E01", "调度科", "emergency", 0, 4),
    DeptSpec("E02", "院前急救科", "emergency", 0, 6),
)

BUREAU_DEPARTMENTS: tuple[DeptSpec, ...] = (DeptSpec("A01", "医政医管股", "administration", 0, 1),)

# Township centres: beds are spread over these three wards (20–60 beds in all).
TOWNSHIP_DEPARTMENTS: tuple[DeptSpec, ...] = (
    DeptSpec("A01", "院办公室", "administration", 0, 1),
    DeptSpec("C01", "全科医学科", "general_practice", 0, 5),
    DeptSpec("C02", "内科", "internal_medicine", 0, 4),
    DeptSpec("C03", "中医科", "tcm", 0, 2),
    DeptSpec("P01", "公共卫生科", "public_health", 0, 3),
    DeptSpec("M01", "放射科", "imaging", 0, 1),
    DeptSpec("M02", "检验科", "laboratory", 0, 1),
    DeptSpec("M05", "药房", "pharmacy", 0, 1),
)
TOWNSHIP_BED_SHARES = {"C01": 0.4, "C02": 0.4, "C03": 0.2}

DEPARTMENTS_BY_KIND: dict[str, tuple[DeptSpec, ...]] = {
    "lead_hospital": LEAD_DEPARTMENTS,
    "tcm_hospital": TCM_DEPARTMENTS,
    "maternal_child": MCH_DEPARTMENTS,
    "chronic_disease": CHRONIC_DEPARTMENTS,
    "emergency_centre": EMERGENCY_DEPARTMENTS,
    "health_bureau": BUREAU_DEPARTMENTS,
    "township_centre": TOWNSHIP_DEPARTMENTS,
}

# Head counts: about 1,550 staff in all, as the mission's scale note says (~1,500).
STAFF_BY_KIND = {
    "lead_hospital": 430,
    "tcm_hospital": 140,
    "maternal_child": 100,
    "chronic_disease": 48,
    "emergency_centre": 22,
    "health_bureau": 8,
}
TOWNSHIP_STAFF_RANGE = (30, 80)

# Shares of professions per kind of institution (weights; they need not sum to 100).
PROFESSION_MIX: dict[str, tuple[tuple[str, int], ...]] = {
    "county": (
        ("physician", 30),
        ("tcm_physician", 3),
        ("nurse", 45),
        ("technician", 9),
        ("pharmacist", 5),
        ("public_health", 2),
        ("management", 6),
    ),
    "tcm_hospital": (
        ("physician", 14),
        ("tcm_physician", 20),
        ("nurse", 42),
        ("technician", 8),
        ("pharmacist", 8),
        ("management", 8),
    ),
    "emergency_centre": (("dispatcher", 8), ("physician", 6), ("nurse", 6), ("management", 2)),
    "health_bureau": (("management", 1),),
    "township": (
        ("physician", 20),
        ("assistant_physician", 10),
        ("tcm_physician", 7),
        ("nurse", 30),
        ("public_health", 13),
        ("technician", 8),
        ("pharmacist", 5),
        ("management", 7),
    ),
}

# Title mixes by level (none, junior, intermediate, associate senior, senior).
TITLE_MIX: dict[str, tuple[tuple[str, int], ...]] = {
    "county": (("none", 8), ("junior", 40), ("intermediate", 32), ("associate_senior", 15), ("senior", 5)),
    "township": (("none", 15), ("junior", 52), ("intermediate", 27), ("associate_senior", 6)),
    "village": (("none", 90), ("junior", 10)),
    "management": (("none", 60), ("junior", 15), ("intermediate", 20), ("associate_senior", 5)),
}

# Which department categories each profession works in.
PROFESSION_CATEGORIES: dict[str, frozenset[str]] = {
    "physician": frozenset(
        {
            "internal_medicine",
            "surgery",
            "obstetrics",
            "paediatrics",
            "emergency",
            "icu",
            "rehabilitation",
            "general_practice",
            "infectious",
            "imaging",
            "pathology",
            "ecg",
        }
    ),
    "assistant_physician": frozenset({"general_practice", "internal_medicine"}),
    "tcm_physician": frozenset({"tcm", "rehabilitation"}),
    "nurse": frozenset(
        {
            "internal_medicine",
            "surgery",
            "obstetrics",
            "paediatrics",
            "emergency",
            "icu",
            "tcm",
            "rehabilitation",
            "general_practice",
            "infectious",
        }
    ),
    "technician": frozenset({"imaging", "laboratory", "ecg", "pathology"}),
    "pharmacist": frozenset({"pharmacy"}),
    "public_health": frozenset({"public_health"}),
    "dispatcher": frozenset({"emergency"}),
    "management": frozenset({"administration"}),
}

SECONDED_DOCTORS = 30

# --- people ---------------------------------------------------------------------------------------

# About 100 surnames with approximate shares (per 10,000) after published Guangdong figures: 陈, 李
# and 黄 lead; 梁, 林, 罗, 何, 邓, 冯 are far more common than nationally.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("陈", 960), ("李", 660), ("黄", 610), ("张", 390), ("林", 370), ("梁", 330), ("刘", 310),
    ("吴", 290), ("罗", 230), ("何", 210), ("王", 200), ("郑", 190), ("周", 155), ("钟", 150),
    ("杨", 150), ("谢", 145), ("邓", 145), ("冯", 125), ("叶", 115), ("曾", 115), ("朱", 115),
    ("蔡", 110), ("许", 100), ("郭", 95), ("苏", 90), ("赖", 85), ("卢", 85), ("余", 75),
    ("潘", 75), ("邱", 70), ("彭", 65), ("欧", 60), ("莫", 60), ("温", 55), ("廖", 55),
    ("方", 50), ("胡", 50), ("徐", 50), ("严", 45), ("江", 45), ("庞", 45), ("丘", 40),
    ("植", 40), ("区", 40), ("邹", 40), ("赵", 40), ("孙", 35), ("马", 35), ("高", 35),
    ("谭", 35), ("范", 30), ("汤", 30), ("骆", 30), ("韦", 30), ("盘", 30), ("房", 25),
    ("简", 25), ("萧", 25), ("古", 25), ("巫", 25), ("姚", 25), ("翁", 20), ("柯", 20),
    ("詹", 20), ("龙", 20), ("麦", 20), ("甘", 20), ("戴", 20), ("宋", 20), ("袁", 20),
    ("黎", 20), ("梅", 18), ("关", 18), ("伍", 18), ("岑", 15), ("易", 15), ("蒋", 15),
    ("唐", 15), ("沈", 15), ("韩", 15), ("魏", 15), ("程", 15), ("傅", 15), ("田", 12),
    ("董", 12), ("石", 12), ("曹", 12), ("凌", 12), ("丁", 12), ("熊", 12), ("华", 10),
    ("覃", 10), ("利", 10), ("邝", 10), ("容", 10), ("杜", 10), ("吕", 10), ("车", 10),
    ("游", 10), ("饶", 10),
)  # fmt: skip

# Given-name characters by sex and birth era; names of the 1950s favour 英, 秀, 福, 金, those of the
# 2010s 梓, 涵, 轩, 睿. (era start year, male pool, female pool, share of one-character names)
GIVEN_NAME_ERAS: tuple[tuple[int, str, str, float], ...] = (
    (0, "华国明金德福寿生发财荣贵泉林根水清昌祥文才亮光有全富炳汉添松伙胜喜来",
     "英秀兰珍凤桂玉芳梅娣好妹娇莲金银彩群嫦娟霞枝花香月连美容珠爱", 0.12),
    (1960, "伟军勇强平建国华志红东明文斌辉海新春卫忠荣坚锋永俊振雄进成耀庆",
     "红丽艳燕萍芳玲霞英梅琼敏秀华凤娟群桂娥珍容玉莲惠洁冰", 0.22),
    (1980, "杰涛磊伟鹏超浩俊斌健锋辉亮勇明华峰强军龙彬威毅东飞文志剑波",
     "婷静丽敏燕娟霞芳琳颖倩雪玲慧莹洁娜艳晶薇欣丹秋嘉月", 0.28),
    (2000, "浩宇轩子俊杰博睿泽晨航诚铭涵烨然辰阳一奕梓皓霖嘉家乐天佑宸煜",
     "欣怡梓涵子琪诗雨晴思佳可馨悦雅萱妍琳嘉彤颖婷语若依心芷桐", 0.10),
)  # fmt: skip

# The county's population pyramid: weights per 5-year band 0–4, 5–9, ..., 95–99, 100+. An ageing
# rural county: many children left with grandparents, a dip at 20–39 (migrant workers away in the
# Pearl River Delta), a bulge at 45–64, and about 18 % aged 65 or over.
PYRAMID: tuple[float, ...] = (
    4.6, 6.0, 6.4, 5.6, 3.8, 3.9, 5.0, 5.6, 6.0, 7.4, 8.2, 7.8, 6.6,
    5.6, 4.6, 3.4, 2.2, 1.2, 0.5, 0.15, 0.05,
)  # fmt: skip
MAX_AGE = 104

# Mobile prefixes in use by the three carriers (11-digit numbers).
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181",
    "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip
