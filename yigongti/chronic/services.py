"""Every write of the chronic-disease and elderly programmes: registry entries, follow-ups,
elderly services, screenings, the one-click referral of an urgent finding, and the rebuild.

Each service is atomic, checks that the actor looks after the resident (a village doctor her
village, a township doctor the villages of her centre), validates every value against the
national forms' plausible ranges, writes, refreshes that one patient's worklist task from the
rules, and appends an audit row: a refusal writes nothing.

``chronic`` imports ``referrals.services`` for the one-click referral (``referral_from_follow_up``);
``referrals`` never imports ``chronic``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, scope_for
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

from . import bulk, rules, tasks
from .choices import REGISTRIES, Adherence, Classification, Programme, RiskLevel, Source, VisitMode
from .models import ElderlyService, Enrollment, FollowUp, ProgrammeReference, Screening, Task
from .signals import send_changed, send_registry_changed

#: Plausible ranges (outside: a typing error, refused beside the field).
SBP_RANGE = (60, 260)
DBP_RANGE = (30, 160)
HEART_RATE_RANGE = (30, 220)
WEIGHT_RANGE = (Decimal("20"), Decimal("250"))
HEIGHT_RANGE = (Decimal("100"), Decimal("230"))
GLUCOSE_RANGE = (Decimal("1.0"), Decimal("35.0"))
SELF_CARE_RANGE = (0, 40)


# --- who acts ---------------------------------------------------------------------------------


def _writer(actor: Any) -> Scope:
    scope = scope_for(actor)
    scope.require_write()
    scope.require(
        bool(scope.resident_village_ids) and not scope.self_patient_only,
        _("Only the village clinic or township centre that looks after the resident records this."),
    )
    return scope


def _resident(scope: Scope, patient: Patient) -> Patient:
    if patient.merged_into_id is not None or patient.village_id not in scope.resident_village_ids:
        raise NotFound(_("No such resident in your villages."), field="patient")
    return patient


def _village_of(patient: Patient) -> int:
    if patient.village_id is None:
        raise NotFound(_("No such resident in your villages."), field="patient")
    return int(patient.village_id)


def _today() -> dt.date:
    return timezone.localdate()


def _record(actor: Any, scope: Scope, verb: str, subject: Any, before: Any = None, **extra: Any) -> None:
    after = {**snapshot(subject), **extra}
    audit(actor=actor, verb=verb, subject=subject, before=before, after=after, membership=scope.membership)


# --- validation -------------------------------------------------------------------------------


def _int(value: Any, field: str, bounds: tuple[int, int], label: Any, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("This value is required."), field=field)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Enter a whole number."), field=field) from None
    low, high = bounds
    if number < low or number > high:
        raise InvalidInput(
            _("%(label)s must be between %(low)s and %(high)s.") % {"label": label, "low": low, "high": high},
            field=field,
        )
    return number


def _dec(
    value: Any, field: str, bounds: tuple[Decimal, Decimal], label: Any, *, required: bool = False
) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("This value is required."), field=field)
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Enter a number."), field=field) from None
    low, high = bounds
    if not number.is_finite() or number < low or number > high:
        raise InvalidInput(
            _("%(label)s must be between %(low)s and %(high)s.") % {"label": label, "low": low, "high": high},
            field=field,
        )
    return number


def _bp(sbp: Any, dbp: Any) -> tuple[int, int]:
    s = _int(sbp, "sbp", SBP_RANGE, _("Systolic pressure"))
    d = _int(dbp, "dbp", DBP_RANGE, _("Diastolic pressure"))
    assert s is not None and d is not None  # noqa: S101 - required above
    if s <= d:
        raise InvalidInput(_("The systolic pressure must be higher than the diastolic."), field="sbp")
    return s, d


def _date(value: Any, field: str, *, not_before: dt.date | None = None, before_label: Any = None) -> dt.date:
    if not isinstance(value, dt.date):
        raise InvalidInput(_("Enter a valid date."), field=field)
    if value > _today():
        raise InvalidInput(_("The date cannot be in the future."), field=field)
    if not_before is not None and value < not_before:
        raise InvalidInput(
            _("The date cannot be before the %(what)s (%(date)s).")
            % {"what": before_label, "date": not_before},
            field=field,
        )
    return value


def _choice(value: Any, field: str, choices: Any) -> str:
    if value not in choices.values:
        raise InvalidInput(_("Choose one of the listed values."), field=field)
    return str(value)


def _text(value: Any, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(_("At most %(n)s characters.") % {"n": limit}, field=field)
    return text


# --- registry ---------------------------------------------------------------------------------


@transaction.atomic
def enrollment_create(
    *,
    actor: Any,
    patient: Patient,
    programme: str,
    diagnosed_on: dt.date,
    source: str,
    risk_level: str,
    enrolled_on: dt.date | None = None,
) -> Enrollment:
    """Enter a resident in the hypertension or type 2 diabetes registry; her first follow-up
    falls due by the rules."""
    scope = _writer(actor)
    _resident(scope, patient)
    if programme not in REGISTRIES:
        raise InvalidInput(_("Choose hypertension or type 2 diabetes."), field="programme")
    diagnosed_on = _date(
        diagnosed_on, "diagnosed_on", not_before=patient.birth_date, before_label=_("birth date")
    )
    enrolled_on = _date(
        enrolled_on or _today(), "enrolled_on", not_before=diagnosed_on, before_label=_("diagnosis date")
    )
    source = _choice(source, "source", Source)
    risk_level = _choice(risk_level, "risk_level", RiskLevel)
    if (
        programme == Programme.HYPERTENSION
        and patient.birth_date
        and (patient.age_on(diagnosed_on) or 0) < 18
    ):
        raise InvalidInput(_("The hypertension programme manages adults."), field="diagnosed_on")
    if Enrollment.objects.filter(patient=patient, programme=programme).exists():
        raise Conflict(_("This resident is already in this registry."), field="programme")
    entry = Enrollment.objects.create(
        patient=patient,
        village_id=_village_of(patient),
        programme=programme,
        diagnosed_on=diagnosed_on,
        enrolled_on=enrolled_on,
        source=source,
        risk_level=risk_level,
        enrolled_by=actor,
    )
    tasks.refresh(patient, programme, today=_today())
    if programme == Programme.HYPERTENSION:
        tasks.refresh(patient, Programme.SCREENING, today=_today())
    _record(actor, scope, "chronic.enroll", entry)
    send_changed({(entry.village_id, enrolled_on.replace(day=1)), (entry.village_id, None)})
    send_registry_changed(
        actor=actor, patient_ids=[patient.pk], programmes=[programme], cause="chronic.enroll"
    )
    return entry


@transaction.atomic
def enrollment_close(*, actor: Any, enrollment: Enrollment, reason: str) -> Enrollment:
    """Take a resident off the register (moved away, died, the diagnosis revised): the entry
    stays, inactive, with its follow-ups; her open task in the programme is cancelled; the
    registers' counts and her family-doctor contract's priority group follow in the same
    transaction (``signals.registry_changed``). A closed entry is not reopened here."""
    scope = _writer(actor)
    entry = Enrollment.objects.select_for_update().select_related("patient").get(pk=enrollment.pk)
    patient = _resident(scope, entry.patient)
    text = _text(reason, "reason", 200)
    if not text:
        raise InvalidInput(_("Give the reason for closing the registry entry."), field="reason")
    if not entry.is_active:
        raise Conflict(_("This registry entry is closed."), field="enrollment")
    before = snapshot(entry)
    entry.is_active = False
    entry.closed_on = max(_today(), entry.enrolled_on)
    entry.save(update_fields=["is_active", "closed_on", "updated_at"])
    tasks.refresh(patient, entry.programme, today=_today())
    if entry.programme == Programme.HYPERTENSION:
        tasks.refresh(patient, Programme.SCREENING, today=_today())
    _record(actor, scope, "chronic.close", entry, before=before, reason=text)
    send_changed({(entry.village_id, entry.enrolled_on.replace(day=1)), (entry.village_id, None)})
    send_registry_changed(
        actor=actor, patient_ids=[patient.pk], programmes=[entry.programme], cause="chronic.close"
    )
    enrollment.is_active, enrollment.closed_on = False, entry.closed_on
    return entry


# --- follow-ups -------------------------------------------------------------------------------


def _classify(
    entry: Enrollment, visit_date: dt.date, sbp: int, dbp: int, fpg: Decimal | None, flags: dict[str, bool]
) -> tuple[str, bool]:
    previous = (
        FollowUp.objects.filter(enrollment=entry, visit_date__lte=visit_date)
        .order_by("-visit_date", "-id")
        .values_list("classification", flat=True)
        .first()
    )
    if entry.programme == Programme.HYPERTENSION:
        return rules.classify_hypertension(sbp=sbp, dbp=dbp, previous=previous, **flags), rules.bp_on_target(
            sbp, dbp
        )
    assert fpg is not None  # noqa: S101 - required for diabetes
    return rules.classify_diabetes(
        fpg=fpg, sbp=sbp, dbp=dbp, previous=previous, **flags
    ), rules.glucose_on_target(fpg)


@transaction.atomic
def follow_up_record(
    *,
    actor: Any,
    enrollment: Enrollment,
    visit_date: dt.date,
    sbp: Any,
    dbp: Any,
    mode: str = VisitMode.CLINIC,
    heart_rate: Any = None,
    weight_kg: Any = None,
    height_cm: Any = None,
    fasting_glucose: Any = None,
    symptoms: str = "",
    danger_signs: bool = False,
    new_complications: bool = False,
    smoking_per_day: Any = 0,
    drinking_per_day: Any = 0,
    exercise_per_week: Any = 0,
    salt_intake: str = "",
    adherence: str = Adherence.REGULAR,
    adverse_reaction: str = "",
) -> FollowUp:
    """Record one follow-up, classify it by the national rules, close the patient's open task
    and open the next one, all in one transaction."""
    scope = _writer(actor)
    patient = _resident(scope, enrollment.patient)
    if not enrollment.is_active:
        raise Conflict(_("This registry entry is closed."), field="enrollment")
    visit_date = _date(
        visit_date, "visit_date", not_before=enrollment.diagnosed_on, before_label=_("diagnosis date")
    )
    sbp_v, dbp_v = _bp(sbp, dbp)
    hr = _int(heart_rate, "heart_rate", HEART_RATE_RANGE, _("Heart rate"), required=False)
    weight = _dec(weight_kg, "weight_kg", WEIGHT_RANGE, _("Weight"))
    height = _dec(height_cm, "height_cm", HEIGHT_RANGE, _("Height"))
    diabetes = enrollment.programme == Programme.DIABETES
    fpg = _dec(fasting_glucose, "fasting_glucose", GLUCOSE_RANGE, _("Fasting glucose"), required=diabetes)
    bmi = (weight / (height / 100) ** 2).quantize(Decimal("0.1")) if weight and height else None
    flags = {
        "danger_signs": bool(danger_signs),
        "new_complications": bool(new_complications),
        "adverse_reaction": bool(_text(adverse_reaction, "adverse_reaction", 200)),
    }
    classification, on_target = _classify(enrollment, visit_date, sbp_v, dbp_v, fpg, flags)
    in_year = FollowUp.objects.filter(enrollment=enrollment, visit_date__year=visit_date.year).count() + 1
    due, _priority = rules.next_task(enrollment.programme, visit_date, classification)
    row = FollowUp.objects.create(
        enrollment=enrollment,
        patient=patient,
        village_id=_village_of(patient),
        programme=enrollment.programme,
        visit_date=visit_date,
        mode=_choice(mode, "mode", VisitMode),
        symptoms=_text(symptoms, "symptoms", 300),
        danger_signs=flags["danger_signs"],
        sbp=sbp_v,
        dbp=dbp_v,
        heart_rate=hr,
        weight_kg=weight,
        height_cm=height,
        bmi=bmi,
        fasting_glucose=fpg,
        smoking_per_day=_int(smoking_per_day or 0, "smoking_per_day", (0, 100), _("Cigarettes per day")) or 0,
        drinking_per_day=_int(drinking_per_day or 0, "drinking_per_day", (0, 50), _("Alcohol per day")) or 0,
        exercise_per_week=_int(exercise_per_week or 0, "exercise_per_week", (0, 30), _("Exercise per week"))
        or 0,
        salt_intake=_text(salt_intake, "salt_intake", 8),
        adherence=_choice(adherence, "adherence", Adherence),
        adverse_reaction=_text(adverse_reaction, "adverse_reaction", 200),
        new_complications=flags["new_complications"],
        classification=classification,
        on_target=on_target,
        next_due_on=due,
        recorded_by=actor,
        visit_in_year=in_year,
    )
    bulk.link_follow_ups([enrollment.pk])  # this one's successor, and its predecessor's
    latest = FollowUp.objects.filter(enrollment=enrollment).order_by("-visit_date", "-id").first()
    if latest is not None:
        Enrollment.objects.filter(pk=enrollment.pk).update(
            last_visit_date=latest.visit_date, last_on_target=latest.on_target
        )
    tasks.refresh(patient, enrollment.programme, today=_today(), done_on=visit_date)
    send_changed({(row.village_id, visit_date.replace(day=1)), (row.village_id, None)})
    _record(actor, scope, "chronic.follow_up", row)
    return row


# --- elderly and screening --------------------------------------------------------------------


@transaction.atomic
def elderly_service_record(
    *,
    actor: Any,
    patient: Patient,
    service_date: dt.date,
    self_care_score: Any,
    sbp: Any,
    dbp: Any,
    weight_kg: Any = None,
    fasting_glucose: Any = None,
    lifestyle: str = "",
    tests: str = "",
    guidance: str = "",
) -> ElderlyService:
    """The annual elderly health service: the self-care score gives the band (0–3 / 4–8 / 9–18 / ≥ 19)."""
    scope = _writer(actor)
    _resident(scope, patient)
    service_date = _date(service_date, "service_date")
    if patient.birth_date is None or (patient.age_on(service_date) or 0) < 65:
        raise InvalidInput(_("The elderly health service is for residents aged 65 or over."), field="patient")
    score = _int(self_care_score, "self_care_score", SELF_CARE_RANGE, _("Self-care score"))
    assert score is not None  # noqa: S101 - required
    sbp_v, dbp_v = _bp(sbp, dbp)
    row = ElderlyService.objects.create(
        patient=patient,
        village_id=_village_of(patient),
        service_date=service_date,
        self_care_score=score,
        self_care_band=rules.self_care_band(score),
        lifestyle=_text(lifestyle, "lifestyle", 300),
        sbp=sbp_v,
        dbp=dbp_v,
        weight_kg=_dec(weight_kg, "weight_kg", WEIGHT_RANGE, _("Weight")),
        fasting_glucose=_dec(fasting_glucose, "fasting_glucose", GLUCOSE_RANGE, _("Fasting glucose")),
        tests=_text(tests, "tests", 300),
        guidance=_text(guidance, "guidance", 300),
        recorded_by=actor,
    )
    tasks.refresh(patient, Programme.ELDERLY, today=_today(), done_on=service_date)
    touched = _mark_first_in_year(patient.pk, service_date.year)
    send_changed({(row.village_id, service_date.replace(day=1)), *touched})
    row.refresh_from_db(fields=["first_in_year"])
    _record(actor, scope, "chronic.elderly_service", row)
    return row


def _mark_first_in_year(patient_id: int, year: int) -> set[tuple[int, dt.date]]:
    """Flag the resident's earliest service of ``year`` (by date, then id) as the first, and no
    other; a service recorded with an earlier date than the flagged one takes the flag over. The
    (village, month) cells of every row whose flag changed are returned."""
    rows = list(
        ElderlyService.objects.select_for_update()
        .filter(
            patient_id=patient_id,
            service_date__gte=dt.date(year, 1, 1),
            service_date__lt=dt.date(year + 1, 1, 1),
        )
        .order_by("service_date", "id")
        .values_list("id", "first_in_year", "village_id", "service_date")
    )
    touched: set[tuple[int, dt.date]] = set()
    for i, (pk, flagged, village_id, day) in enumerate(rows):
        if flagged != (i == 0):
            ElderlyService.objects.filter(pk=pk).update(first_in_year=i == 0)
            touched.add((village_id, day.replace(day=1)))
    return touched


@transaction.atomic
def screening_record(
    *, actor: Any, patient: Patient, screened_on: dt.date, sbp: Any, dbp: Any, high_risk: bool = False
) -> Screening:
    """A blood-pressure screening of a resident aged 35 or over: next one in a year, or in six
    months when one of the six high-risk factors is present."""
    scope = _writer(actor)
    _resident(scope, patient)
    screened_on = _date(screened_on, "screened_on")
    if patient.birth_date is None or (patient.age_on(screened_on) or 0) < 35:
        raise InvalidInput(_("Screening is for residents aged 35 or over."), field="patient")
    sbp_v, dbp_v = _bp(sbp, dbp)
    row = Screening.objects.create(
        patient=patient,
        village_id=_village_of(patient),
        screened_on=screened_on,
        sbp=sbp_v,
        dbp=dbp_v,
        high_risk=bool(high_risk),
        recorded_by=actor,
    )
    tasks.refresh(patient, Programme.SCREENING, today=_today(), done_on=screened_on)
    _record(actor, scope, "chronic.screening", row)
    return row


# --- the one-click referral -------------------------------------------------------------------


def _county_hospital(institution: Institution) -> Institution | None:
    node: Institution | None = institution
    while node is not None and node.kind != InstitutionKind.LEAD_HOSPITAL:
        node = node.parent
    return node


@transaction.atomic
def referral_from_follow_up(*, actor: Any, follow_up: FollowUp) -> Any:
    """A draft upward referral to the county lead hospital, pre-filled with the finding, for the
    doctor to check and submit on the referral's page."""
    from yigongti.referrals import services as referrals
    from yigongti.referrals.models import ReferralReason

    scope = _writer(actor)
    _resident(scope, follow_up.patient)
    if follow_up.classification not in (Classification.URGENT, Classification.REFER):
        raise Conflict(
            _("Only an urgent or twice-uncontrolled finding is referred from here."), field="follow_up"
        )
    if follow_up.referral_id:
        raise Conflict(_("A referral was already written for this follow-up."), field="follow_up")
    assert scope.membership is not None  # noqa: S101 - a writer has one
    target = _county_hospital(scope.membership.institution)
    if target is None:
        raise InvalidInput(_("Your institution has no county hospital above it."), field="to_institution")
    urgent = follow_up.classification == Classification.URGENT
    reason = ReferralReason.objects.filter(code="U02" if urgent else "U04", is_active=True).first()
    diabetes = follow_up.programme == Programme.DIABETES
    readings = _("Follow-up on %(date)s: BP %(sbp)s/%(dbp)s mmHg") % {
        "date": follow_up.visit_date,
        "sbp": follow_up.sbp,
        "dbp": follow_up.dbp,
    }
    if follow_up.fasting_glucose is not None:
        readings += _(", fasting glucose %(fpg)s mmol/L") % {"fpg": follow_up.fasting_glucose}
    if follow_up.heart_rate:
        readings += _(", heart rate %(hr)s/min") % {"hr": follow_up.heart_rate}
    if follow_up.symptoms:
        readings += _("; symptoms: %(s)s") % {"s": follow_up.symptoms}
    referral = referrals.referral_create(
        actor=actor,
        patient=follow_up.patient,
        to_institution=target,
        diagnosis_code="E11" if diabetes else "I10",
        diagnosis_name=str(_("Type 2 diabetes") if diabetes else _("Hypertension")),
        reason=reason,
        urgency="urgent" if urgent else "routine",
        history=str(readings),
        reason_note=str(follow_up.get_classification_display()),
    )
    before = {"referral_id": None}
    FollowUp.objects.filter(pk=follow_up.pk).update(referral_id=referral.pk)
    follow_up.referral_id = referral.pk
    _record(actor, scope, "chronic.refer", follow_up, before=before)
    return referral


# --- reference data ----------------------------------------------------------------------------

#: Default estimated prevalence among residents aged 35 or over (configurable per year in the
#: admin or with ``reference_compute(prevalence=...)``).
DEFAULT_PREVALENCE: dict[str, Decimal] = {
    Programme.HYPERTENSION: Decimal("0.25"),
    Programme.DIABETES: Decimal("0.10"),
}


@transaction.atomic
def reference_compute(
    *,
    actor: Any,
    year: int,
    prevalence: dict[str, Decimal] | None = None,
    quota_share: Decimal | None = None,
) -> int:
    """Per village clinic: residents aged 35 or over on 1 July of ``year`` x prevalence = the
    estimated patients. ``quota_share`` (a share of the estimate) sets the provincial quota where
    none was entered. The system or the consortium office."""
    from django.db.models import Count

    if actor is not None and not scope_for(actor).manages_consortium:
        raise Forbidden(_("Only the consortium office may change reference data."))
    if year < 2000 or year > _today().year + 1:
        raise InvalidInput(_("Choose a year from 2000 to next year."), field="year")
    rates: dict[str, Decimal] = {**DEFAULT_PREVALENCE, **(prevalence or {})}
    for programme, rate in rates.items():
        if programme not in REGISTRIES or not (Decimal(0) < Decimal(rate) < Decimal(1)):
            raise InvalidInput(_("A prevalence is a share between 0 and 1."), field="prevalence")
    mid_year = dt.date(year, 7, 1)
    existing = {(r.institution_id, r.programme): r for r in ProgrammeReference.objects.filter(year=year)}
    new_rows: list[ProgrammeReference] = []
    touched: list[ProgrammeReference] = []
    now = timezone.now()
    # elderly rows: everyone aged 65 or over is eligible (prevalence 1)
    for programme, rate, age in [
        *((p, r, 35) for p, r in rates.items()),
        (Programme.ELDERLY, Decimal(1), 65),
    ]:
        counts = (
            Patient.objects.filter(
                birth_date__lte=rules.birthday(mid_year, -age),
                village__isnull=False,
                merged_into__isnull=True,
            )
            .values("village_id")
            .annotate(n=Count("id"))
            .values_list("village_id", "n")
        )
        for village_id, n in counts:
            estimated = int((Decimal(n) * Decimal(rate)).to_integral_value())
            row = existing.get((village_id, programme))
            if row is None:
                row = ProgrammeReference(institution_id=village_id, year=year, programme=programme)
                new_rows.append(row)
            else:
                row.updated_at = now
                touched.append(row)
            row.prevalence, row.residents_35, row.estimated_patients = Decimal(rate), n, estimated
            if quota_share is not None and not row.quota and programme != Programme.ELDERLY:
                row.quota = int((estimated * quota_share).to_integral_value())
    # set-based (one statement per batch, not a save per village); the signal names the cells
    ProgrammeReference.objects.bulk_create(new_rows, batch_size=1000)
    ProgrammeReference.objects.bulk_update(
        touched,
        ["prevalence", "residents_35", "estimated_patients", "quota", "updated_at"],
        batch_size=1000,
    )
    written = len(new_rows) + len(touched)
    send_changed({(r.institution_id, dt.date(year, 1, 1)) for r in (*new_rows, *touched)})
    audit(
        actor=actor,
        verb="chronic.reference_compute",
        object_type="chronic.programmereference",
        object_id=str(year),
        after={"year": year, "rows": written, "prevalence": {k: str(v) for k, v in rates.items()}},
    )
    return written


# --- rebuild ----------------------------------------------------------------------------------


def tasks_rebuild(*, actor: Any = None, today: dt.date | None = None) -> int:
    """Every open task from scratch (after a rule change); the system or the consortium office."""
    if actor is not None:
        scope = scope_for(actor)
        if not scope.manages_consortium:
            raise Forbidden(_("Only the consortium office may rebuild the worklists."))
    with transaction.atomic():
        count = tasks.rebuild(today or _today())
        audit(
            actor=actor,
            verb="chronic.tasks_rebuild",
            object_type="chronic.task",
            object_id="*",
            after={"open_tasks": count, "rule_version": rules.VERSION},
        )
    return count


__all__ = [
    "Task",
    "elderly_service_record",
    "enrollment_close",
    "enrollment_create",
    "follow_up_record",
    "referral_from_follow_up",
    "screening_record",
    "tasks_rebuild",
]
