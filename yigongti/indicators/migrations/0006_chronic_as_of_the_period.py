"""The chronic programmes' indicators read as of each period's end (``chronic`` migration 0004):
the register counts the entries enrolled and not yet closed by then (no longer "active today"),
and the control rate's numerator is the entries whose latest follow-up by then was on target (no
longer "on target at today's latest"). An installation whose rows still hold the old seed
definitions gets the new ones; an official's own correction is left alone. The parts follow
after migrate (``engine.sync_parts``)."""

from typing import Any

from django.db import migrations

PROGRAMMES = ("hypertension", "diabetes")


def _prog(programme: str) -> dict[str, Any]:
    return {"field": "programme", "op": "eq", "value": programme}


ACTIVE = {"field": "is_active", "op": "eq", "value": True}
LAST_ON_TARGET = {"field": "last_on_target", "op": "eq", "value": True}


def _old_registry(programme: str, *more: dict[str, Any]) -> dict[str, Any]:
    return {"source": "chronic_registry", "filters": [_prog(programme), ACTIVE, *more], "measure": "count"}


def _new_registry(programme: str) -> dict[str, Any]:
    return {"source": "chronic_registry", "filters": [_prog(programme)], "measure": "count"}


def _new_on_target(programme: str) -> dict[str, Any]:
    on_target = {"field": "on_target", "op": "eq", "value": True}
    return {"source": "chronic_standing", "filters": [_prog(programme), on_target], "measure": "count"}


def _changes() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(code, numerator or denominator, old seed, new seed)."""
    out = []
    for p in PROGRAMMES:
        old, new = _old_registry(p), _new_registry(p)
        out += [
            (f"{p}_management_rate", "numerator", old, new),
            (f"{p}_quota_completion", "numerator", old, new),
            (f"{p}_standard_management_rate", "denominator", old, new),
            (f"{p}_control_rate", "denominator", old, new),
            (f"{p}_control_rate", "numerator", _old_registry(p, LAST_ON_TARGET), _new_on_target(p)),
            (f"fd_coverage_{p}", "denominator", old, new),
        ]
    return out


def _apply(apps: Any, forward: bool) -> None:
    indicator = apps.get_model("indicators", "Indicator")
    for code, part, old, new in _changes():
        before, after = (old, new) if forward else (new, old)
        indicator.objects.filter(code=code, **{part: before}).update(**{part: after})


def forwards(apps: Any, schema_editor: Any) -> None:
    _apply(apps, True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _apply(apps, False)


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0005_cell_part_without_constraint"),
        ("chronic", "0004_closed_on_and_until"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards)
    ]
