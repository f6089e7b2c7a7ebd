"""Shared helpers for the demo tests (not collected: the name does not start with test_)."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from yigongti.patients.models import Patient

AS_OF = "2025-06-30"
RESIDENTS = 500


def generate(*extra: str, residents: int = RESIDENTS, seed: int = 2024) -> str:
    out = StringIO()
    call_command(
        "generate_county",
        f"--residents={residents}",
        f"--seed={seed}",
        f"--as-of={AS_OF}",
        "--chunk-size=120",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def resident_fingerprint(limit: int = 200) -> list[tuple]:
    return list(
        Patient.objects.order_by("health_record_number").values_list(
            "health_record_number",
            "id_number",
            "name",
            "sex",
            "birth_date",
            "phone",
            "relation_to_head",
            "household__code",
            "village__code",
            "address",
        )[:limit]
    )
