"""Keep the aggregate cells current: each source's write paths tell us which cells they touched.

Encounters, referrals, bulk resident loads, the chronic programmes and family doctors send their
own signals inside the writing transaction (keys of (institution id, first day of month or
None)); for the reference tables we listen to the model signals, remembering a row's old key
before a save so that a row that moves is taken out of its old cell.
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


def _reference_keys(r: Any) -> set[engine.Key]:
    return {(r.institution_id, dt.date(int(r.year), 1, 1))}


#: Sources attributed to a resident's current village through the resident (the contracts and
#: home visits of family doctors; a task keeps the village it was planned for): a resident who
#: moves takes them from the old village's cells to the new one's.
RESIDENT_SOURCES = ("fd_contracts", "fd_home_visits")


def _connect(
    model: Any, source: str, keys: Any, *, every_institution: bool = False, moved: tuple[str, ...] = ()
) -> None:
    """Refresh ``source`` at a saved or deleted row's old and new keys; when a saved row's keys
    changed, the ``moved`` sources too."""

    def before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        if raw or instance.pk is None:
            return
        old = sender._default_manager.filter(pk=instance.pk).first()
        setattr(instance, _OLD, keys(old) if old is not None else set())

    def after(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        if raw:
            return
        old = set(getattr(instance, _OLD, set()))
        touched = old | keys(instance)
        engine.refresh(source, touched, every_institution=every_institution)
        if old and touched != old:
            for other in moved:
                engine.refresh(other, touched)

    uid = f"indicators.{source}"
    pre_save.connect(before, sender=model, weak=False, dispatch_uid=f"{uid}.pre")
    post_save.connect(after, sender=model, weak=False, dispatch_uid=f"{uid}.post")
    post_delete.connect(after, sender=model, weak=False, dispatch_uid=f"{uid}.delete")


def _on_encounters(sender: Any, keys: Any = (), **kwargs: Any) -> None:
    engine.refresh("encounters", set(keys))


def _on_referrals(sender: Any, keys: Any = (), **kwargs: Any) -> None:
    engine.refresh("referrals", set(keys), every_institution=True)


def _on_domain(sources: tuple[str, ...]) -> Any:
    """A receiver for a domain signal whose keys name the touched (institution, month) cells of
    every source that domain owns (the village clinic, the team's institution, ...)."""

    def receive(sender: Any, keys: Any = (), **kwargs: Any) -> None:
        touched = set(keys)
        for source in sources:
            engine.refresh(source, touched)

    return receive


_CLASS = ("level", "kind", "code")


def _institution_before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list(*_CLASS).first()
    setattr(instance, _OLD, old)


def _institution_after(
    sender: Any, instance: Any, raw: bool = False, created: bool = False, **kwargs: Any
) -> None:
    """An institution's level, kind or code changed: every source with a part filtered on an
    institution's level, kind or code is recomputed (rare, and any row may be attributed to
    another institution than the one filtered on, so no narrower set of cells is safe)."""
    old = getattr(instance, _OLD, None)
    if raw or created or old is None or old == tuple(getattr(instance, f) for f in _CLASS):
        return
    from .models import IndicatorPart

    classed = {
        p.source
        for p in IndicatorPart.objects.all()
        if any(
            p.parsed().spec.fields[f].path.endswith(tuple(f"__{c}" for c in _CLASS))
            for f, _o, _v in p.parsed().filters
        )
    }
    if classed:
        engine.rebuild(sources=classed)


def _on_catalogue(sender: Any, instance: Any = None, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        engine.sync_parts()


def connect() -> None:
    from yigongti.institutions.models import Department, Institution, Secondment
    from yigongti.patients.models import Patient

    from .models import Indicator, PopulationReference

    _connect(Patient, "residents", _patient_keys, moved=RESIDENT_SOURCES)
    pre_save.connect(_institution_before, sender=Institution, weak=False, dispatch_uid="indicators.inst.pre")
    post_save.connect(_institution_after, sender=Institution, weak=False, dispatch_uid="indicators.inst.post")
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
    from yigongti.chronic.models import ProgrammeReference
    from yigongti.chronic.signals import chronic_changed
    from yigongti.familydoctor.signals import familydoctor_changed
    from yigongti.patients.signals import residents_changed

    from .definitions import CHRONIC_SOURCES, FAMILYDOCTOR_SOURCES

    # bulk resident loads (the demo's COPY, import_residents) write without model saves, naming
    # the old and the new village of a resident who moved; contracts of the residents are
    # counted only while the resident is not merged
    residents_changed.connect(
        _on_domain(("residents", *RESIDENT_SOURCES)), weak=False, dispatch_uid="indicators.residents"
    )

    # the chronic app's reference rows are written by model saves (reference_compute, the admin)
    _connect(ProgrammeReference, "chronic_reference", _reference_keys)
    chronic_changed.connect(_on_domain(CHRONIC_SOURCES), weak=False, dispatch_uid="indicators.chronic")
    familydoctor_changed.connect(
        _on_domain(FAMILYDOCTOR_SOURCES), weak=False, dispatch_uid="indicators.familydoctor"
    )
    try:
        from yigongti.referrals.signals import referrals_changed  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        referrals_changed.connect(_on_referrals, weak=False, dispatch_uid="indicators.referrals")
