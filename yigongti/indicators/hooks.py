"""Keep the aggregate cells current: each source's write paths tell us which cells they touched.

Encounters and referrals send their own signals inside the writing transaction (keys of
(institution id, first day of month)); for the reference tables we listen to the model signals,
remembering a row's old key before a save so that a row that moves is taken out of its old cell.
Everything runs inside the writer's transaction: the cells commit or roll back with the data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from . import engine

_OLD = "_ygt_indicator_keys"


def _month(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        from .definitions import SHANGHAI

        value = value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()
    return value.replace(day=1)


def _patient_keys(p: Any) -> set[engine.Key]:
    return {(p.village_id, None)}  # a snapshot: the village's cell has no month


def _secondment_keys(s: Any) -> set[engine.Key]:
    return {(s.host_id, _month(s.start_date)), (s.home_id, _month(s.start_date))}


def _department_keys(d: Any) -> set[engine.Key]:
    return {(d.institution_id, None)}


def _population_keys(p: Any) -> set[engine.Key]:
    return {(p.institution_id, dt.date(int(p.year), 1, 1))}


def _connect(model: Any, source: str, keys: Any, *, every_institution: bool = False) -> None:
    def before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        if raw or instance.pk is None:
            return
        old = sender._default_manager.filter(pk=instance.pk).first()
        setattr(instance, _OLD, keys(old) if old is not None else set())

    def after(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        if raw:
            return
        touched = set(getattr(instance, _OLD, set())) | keys(instance)
        engine.refresh(source, touched, every_institution=every_institution)

    uid = f"indicators.{source}"
    pre_save.connect(before, sender=model, weak=False, dispatch_uid=f"{uid}.pre")
    post_save.connect(after, sender=model, weak=False, dispatch_uid=f"{uid}.post")
    post_delete.connect(after, sender=model, weak=False, dispatch_uid=f"{uid}.delete")


def _on_encounters(sender: Any, keys: Any = (), **kwargs: Any) -> None:
    engine.refresh("encounters", set(keys))


def _on_referrals(sender: Any, keys: Any = (), **kwargs: Any) -> None:
    engine.refresh("referrals", set(keys), every_institution=True)


def _on_catalogue(sender: Any, instance: Any = None, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        engine.sync_parts()


def connect() -> None:
    from yigongti.institutions.models import Department, Secondment
    from yigongti.patients.models import Patient

    from .models import Indicator, PopulationReference

    _connect(Patient, "residents", _patient_keys)
    _connect(Secondment, "secondments", _secondment_keys, every_institution=True)
    _connect(Department, "beds", _department_keys)
    _connect(PopulationReference, "population", _population_keys)
    post_save.connect(_on_catalogue, sender=Indicator, weak=False, dispatch_uid="indicators.catalogue.save")
    post_delete.connect(_on_catalogue, sender=Indicator, weak=False, dispatch_uid="indicators.catalogue.del")
    try:
        from yigongti.encounters.signals import encounters_changed  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the encounters app has not landed yet
        pass
    else:
        encounters_changed.connect(_on_encounters, weak=False, dispatch_uid="indicators.encounters")
    try:
        from yigongti.referrals.signals import referrals_changed  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        referrals_changed.connect(_on_referrals, weak=False, dispatch_uid="indicators.referrals")
