"""Seed the coded referral criteria, the green-channel kinds and the acceptance deadlines.

The consortium office edits them in the admin afterwards; this only fills an empty table.
"""

from django.db import migrations

REASONS = [
    ("U01", "超出本机构诊疗能力", "upward"),
    ("U02", "急危重症，需进一步抢救治疗", "upward"),
    ("U03", "诊断不明确，需进一步检查", "upward"),
    ("U04", "慢性病控制不佳或出现严重并发症", "upward"),
    ("U05", "需手术或介入治疗", "upward"),
    ("U06", "高危孕产妇，需上级医院管理", "upward"),
    ("U07", "需专科治疗或会诊", "upward"),
    ("U08", "法定传染病，需转定点医院", "upward"),
    ("D01", "急性期治疗结束，病情稳定，需康复治疗", "downward"),
    ("D02", "慢性病诊断明确，需基层长期管理", "downward"),
    ("D03", "术后病情稳定，需继续观察和护理", "downward"),
    ("D04", "老年护理、长期照护或安宁疗护", "downward"),
    ("D05", "需在基层继续中医药等治疗", "downward"),
]
GREEN = [
    ("chest_pain", "胸痛", "emergency"),
    ("stroke", "卒中", "internal_medicine"),
    ("trauma", "严重创伤", "surgery"),
    ("maternal", "危重孕产妇", "obstetrics"),
    ("neonatal", "危重新生儿", "paediatrics"),
    ("poisoning", "急性中毒", "emergency"),
]
DEADLINES = [("emergency", 10), ("urgent", 30), ("routine", 24 * 60)]


def seed(apps, schema_editor):
    Reason = apps.get_model("referrals", "ReferralReason")
    Green = apps.get_model("referrals", "GreenChannelKind")
    Deadline = apps.get_model("referrals", "AcceptanceDeadline")
    for order, (code, name, direction) in enumerate(REASONS):
        Reason.objects.get_or_create(code=code, defaults={"name": name, "direction": direction, "sort_order": order})
    for order, (code, name, category) in enumerate(GREEN):
        Green.objects.get_or_create(
            code=code, defaults={"name": name, "department_category": category, "sort_order": order}
        )
    for urgency, minutes in DEADLINES:
        Deadline.objects.get_or_create(urgency=urgency, defaults={"minutes": minutes})


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
