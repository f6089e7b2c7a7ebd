"""Administrative division codes after GB/T 2260.

The 34 provincial-level prefixes are complete. County codes are listed for the counties that the
platform is configured for (the demo county and its prefecture); a deployment adds its own in
``COUNTIES`` or through the settings. An ID number is accepted when its province prefix is real,
because residents are born all over the country.
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip

COUNTIES: dict[str, str] = {
    "441800": "清远市",
    "441802": "清城区",
    "441803": "清新区",
    "441821": "佛冈县",
    "441823": "阳山县",
    "441825": "连山壮族瑶族自治县",
    "441826": "连南瑶族自治县",
    "441881": "英德市",
    "441882": "连州市",
    "440100": "广州市",
    "440104": "越秀区",
    "440106": "天河区",
    "431100": "永州市",
    "431127": "蓝山县",
    "431081": "资兴市",
    "520200": "六盘水市",
}


def province_of(code: str) -> str | None:
    """The province name for a 2- to 6-digit code, or None when the prefix is not a province."""
    if len(code) < 2 or not code[:2].isdigit():
        return None
    return PROVINCES.get(code[:2])


def name_of(code: str) -> str | None:
    return COUNTIES.get(code)


def is_valid_county_code(code: str) -> bool:
    """Six digits under a real province; listed counties are also named."""
    return (
        len(code) == 6
        and code.isascii()
        and code.isdigit()
        and province_of(code) is not None
        and code[2:] != "0000"
    )
