"""Registries, follow-ups after the national forms, elderly health services, screenings, and the
worklist tasks generated from the rules.

Every row carries the resident's ``village`` (copied from the patient when written) so that a
village doctor's or township's worklist is one indexed range, and scope filters need no join.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yigongti.core.models import TimeStampedModel
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

from .choices import (
    Adherence,
    Classification,
    Priority,
    Programme,
    RiskLevel,
    SelfCareBand,
    Source,
    TaskStatus,
    VisitMode,
)

_USER = settings.AUTH_USER_MODEL


class Enrollment(TimeStampedModel):
    """One patient in the hypertension or type 2 diabetes registry (管理档案)."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="chronic_enrollments", verbose_name=_("patient")
    )
    village = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("village clinic")
    )
    programme = models.CharField(
        pgettext_lazy("chronic", "programme"), max_length=16, choices=Programme.choices
    )
    diagnosed_on = models.DateField(_("diagnosis date"))
    enrolled_on = models.DateField(_("enrolment date"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    risk_level = models.CharField(_("risk level"), max_length=16, choices=RiskLevel.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # the day the entry was closed (``enrollment_close``): a period ending on or before it still
    # counts the entry as managed
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    enrolled_by = models.ForeignKey(
        _USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    # the latest follow-up, kept by the follow-up service for the control rates (a snapshot)
    last_visit_date = models.DateField(_("last follow-up"), null=True, blank=True)
    last_on_target = models.BooleanField(_("on target at the last follow-up"), default=False)

    class Meta:
        verbose_name = _("registry entry")
        verbose_name_plural = _("registry entries")
        constraints = [
            models.UniqueConstraint(fields=["patient", "programme"], name="chronic_one_entry_per_programme")
        ]
        indexes = [models.Index(fields=["village", "programme"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.programme}"


class FollowUp(TimeStampedModel):
    """One visit after the national forms (高血压 / 2型糖尿病患者随访服务记录表)."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("registry entry")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    village = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("village clinic")
    )
    programme = models.CharField(
        pgettext_lazy("chronic", "programme"), max_length=16, choices=Programme.choices
    )
    visit_date = models.DateField(_("follow-up date"))
    mode = models.CharField(_("follow-up mode"), max_length=8, choices=VisitMode.choices)
    symptoms = models.CharField(_("symptoms"), max_length=300, blank=True)
    danger_signs = models.BooleanField(_("danger signs"), default=False)
    sbp = models.PositiveSmallIntegerField(_("systolic blood pressure (mmHg)"))
    dbp = models.PositiveSmallIntegerField(_("diastolic blood pressure (mmHg)"))
    heart_rate = models.PositiveSmallIntegerField(_("heart rate (beats/min)"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=5, decimal_places=1, null=True, blank=True)
    bmi = models.DecimalField(_("BMI (kg/m²)"), max_digits=4, decimal_places=1, null=True, blank=True)
    fasting_glucose = models.DecimalField(
        _("fasting glucose (mmol/L)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    smoking_per_day = models.PositiveSmallIntegerField(_("cigarettes per day"), default=0)
    drinking_per_day = models.PositiveSmallIntegerField(_("alcohol per day (liang)"), default=0)
    exercise_per_week = models.PositiveSmallIntegerField(_("exercise sessions per week"), default=0)
    salt_intake = models.CharField(_("salt intake"), max_length=8, blank=True)
    adherence = models.CharField(_("medication adherence"), max_length=16, choices=Adherence.choices)
    adverse_reaction = models.CharField(_("adverse drug reactions"), max_length=200, blank=True)
    new_complications = models.BooleanField(_("new complications"), default=False)
    classification = models.CharField(_("classification"), max_length=16, choices=Classification.choices)
    on_target = models.BooleanField(_("on target"), default=False)
    next_due_on = models.DateField(_("next follow-up due"))
    recorded_by = models.ForeignKey(
        _USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    referral_id = models.PositiveIntegerField(_("referral"), null=True, blank=True)
    #: This visit's number within its calendar year for the entry: >= 4 means managed per the standard.
    visit_in_year = models.PositiveSmallIntegerField(_("visit number in the year"), default=1)
    # the date of the entry's next follow-up (kept by ``bulk.link_follow_ups``): until then this
    # is the entry's latest follow-up, so "on target at the last follow-up" can be read as of any
    # day; empty while it is the latest
    until = models.DateField(_("latest until"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-visit_date", "-id"]
        indexes = [
            models.Index(fields=["enrollment", "visit_date"]),
            models.Index(fields=["village", "visit_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.visit_date}"


class ElderlyService(TimeStampedModel):
    """One annual elderly health service (老年人健康管理): assessment, exam, tests, guidance."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    village = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("village clinic")
    )
    service_date = models.DateField(_("service date"))
    # the resident's earliest service of the calendar year (by date, then id): the management rate
    # counts each resident once a year, in the month of this service, whatever the months summed
    first_in_year = models.BooleanField(_("first service of the year"), default=False, editable=False)
    self_care_score = models.PositiveSmallIntegerField(_("self-care score"))
    self_care_band = models.CharField(_("self-care ability"), max_length=16, choices=SelfCareBand.choices)
    lifestyle = models.CharField(_("lifestyle assessment"), max_length=300, blank=True)
    sbp = models.PositiveSmallIntegerField(_("systolic blood pressure (mmHg)"))
    dbp = models.PositiveSmallIntegerField(_("diastolic blood pressure (mmHg)"))
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    fasting_glucose = models.DecimalField(
        _("fasting glucose (mmol/L)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    tests = models.CharField(
        _("tests (blood, urine, liver, kidney, lipids, ECG, ultrasound)"), max_length=300, blank=True
    )
    guidance = models.CharField(_("health guidance"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        _USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("elderly health service")
        verbose_name_plural = _("elderly health services")
        ordering = ["-service_date", "-id"]
        indexes = [
            models.Index(fields=["patient", "service_date"]),
            models.Index(fields=["village", "service_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.service_date}"


class Screening(TimeStampedModel):
    """A blood-pressure screening of a resident aged 35 or over; a high-risk finding (any of the
    six factors) brings the next one forward to six months."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    village = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("village clinic")
    )
    screened_on = models.DateField(_("screening date"))
    sbp = models.PositiveSmallIntegerField(_("systolic blood pressure (mmHg)"))
    dbp = models.PositiveSmallIntegerField(_("diastolic blood pressure (mmHg)"))
    high_risk = models.BooleanField(_("high-risk factors present"), default=False)
    recorded_by = models.ForeignKey(
        _USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        ordering = ["-screened_on", "-id"]
        indexes = [models.Index(fields=["patient", "screened_on"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.screened_on}"


class Task(TimeStampedModel):
    """A worklist task generated from ``rules.RULESET`` (its ``rule_version``): one open task per
    patient and programme; recording the resolving record marks it done and opens the next."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="+", verbose_name=_("patient")
    )
    village = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("village clinic")
    )
    programme = models.CharField(
        pgettext_lazy("chronic", "programme"), max_length=16, choices=Programme.choices
    )
    outcome = models.CharField(pgettext_lazy("chronic", "after"), max_length=16)
    due_on = models.DateField(_("due on"))
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    rule_version = models.CharField(_("rule version"), max_length=16)
    done_on = models.DateField(_("done on"), null=True, blank=True)

    class Meta:
        verbose_name = _("worklist task")
        verbose_name_plural = _("worklist tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "programme"], condition=Q(status="open"), name="chronic_one_open_task"
            )
        ]
        indexes = [models.Index(fields=["village", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.programme} {self.due_on}"


class ProgrammeReference(TimeStampedModel):
    """Reference data per year, programme and village clinic (or township centre): the estimated
    patients (residents aged 35 or over x the configured prevalence), the denominator of the
    management rate, and the provincial quota of managed patients, the denominator of quota
    completion. Computed by ``services.reference_compute`` and editable in the admin."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("village clinic or township centre"),
    )
    year = models.PositiveIntegerField(_("year"))
    programme = models.CharField(
        pgettext_lazy("chronic", "programme"), max_length=16, choices=Programme.choices
    )
    prevalence = models.DecimalField(_("estimated prevalence"), max_digits=5, decimal_places=4)
    residents_35 = models.PositiveIntegerField(
        _("eligible residents (35 or over; 65 or over for the elderly)"), default=0
    )
    estimated_patients = models.PositiveIntegerField(_("estimated patients"), default=0)
    quota = models.PositiveIntegerField(_("provincial quota of managed patients"), default=0)

    class Meta:
        verbose_name = _("programme reference data")
        verbose_name_plural = _("programme reference data")
        ordering = ["year", "programme", "institution_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "year", "programme"], name="chronic_reference_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.year} {self.programme}"
