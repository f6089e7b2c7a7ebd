"""One table: every visit and stay of a resident, wherever it happened."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from .choices import EncounterKind, EncounterSource

HALF_FEN = Decimal("0.005")


class Encounter(TimeStampedModel):
    """A visit (outpatient, emergency, home visit, online, AI pre-consultation) or an inpatient stay.

    The indicators are computed from this table, so every fact an indicator needs is a column:
    where (``institution``; null only for an out-of-county stay whose hospital is not one of ours,
    then ``facility_name``/``facility_area_code`` say where), whether it was inside the county
    (``in_county``), the patient's county of residence *at the time* (``residence_county_code``,
    copied, because residents move), cost split by payer, and the stay's dates and bed days.

    An inpatient still in hospital has ``discharged_on`` and ``bed_days`` null; bed days are
    counted only for completed stays (bed use to date is the indicator's business, from
    ``admitted_on``). ``source_system`` + ``external_id`` is the idempotency key of imported rows.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="encounters", verbose_name=_("patient")
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="encounters",
        verbose_name=_("institution"),
        db_index=False,  # the (institution, started_at) index covers it
    )
    department = models.ForeignKey(
        "institutions.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="encounters",
        verbose_name=_("department"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EncounterKind.choices)
    started_at = models.DateTimeField(_("started at"))
    admitted_on = models.DateField(_("admitted on"), null=True, blank=True)
    discharged_on = models.DateField(_("discharged on"), null=True, blank=True)
    bed_days = models.PositiveIntegerField(_("bed days"), null=True, blank=True)
    is_tcm = models.BooleanField(_("TCM"), default=False)
    total_cost = models.DecimalField(_("total cost"), max_digits=12, decimal_places=2)
    insurance_paid = models.DecimalField(_("paid by insurance"), max_digits=12, decimal_places=2)
    out_of_pocket = models.DecimalField(_("out of pocket"), max_digits=12, decimal_places=2)
    diagnosis_code = models.CharField(_("diagnosis (ICD-10)"), max_length=16, blank=True)
    residence_county_code = models.CharField(_("county of residence"), max_length=6)
    in_county = models.BooleanField(_("inside the county"), default=True)
    facility_name = models.CharField(_("hospital outside the county"), max_length=100, blank=True)
    facility_area_code = models.CharField(_("area code of that hospital"), max_length=6, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=EncounterSource.choices, default=EncounterSource.MANUAL
    )
    source_system = models.CharField(_("source system"), max_length=40, blank=True)
    external_id = models.CharField(_("external id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("encounter")
        verbose_name_plural = _("encounters")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "started_at"], name="encounters_inst_start"),
            models.Index(fields=["started_at"], name="encounters_start"),
            models.Index(fields=["patient", "started_at"], name="encounters_patient_start"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~Q(external_id=""),
                name="encounters_source_key",
            ),
            # Within half a fen, not equal: SQLite keeps decimals as floating point.
            models.CheckConstraint(
                condition=Q(
                    total_cost__gt=F("insurance_paid") + F("out_of_pocket") - HALF_FEN,
                    total_cost__lt=F("insurance_paid") + F("out_of_pocket") + HALF_FEN,
                ),
                name="encounters_cost_sum",
            ),
            models.CheckConstraint(
                condition=Q(total_cost__gte=0, insurance_paid__gte=0, out_of_pocket__gte=0),
                name="encounters_cost_positive",
            ),
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True)
                | Q(admitted_on__isnull=False, discharged_on__gte=F("admitted_on")),
                name="encounters_stay_dates",
            ),
            models.CheckConstraint(
                condition=Q(kind=EncounterKind.INPATIENT, admitted_on__isnull=False)
                | Q(~Q(kind=EncounterKind.INPATIENT), admitted_on__isnull=True, bed_days__isnull=True),
                name="encounters_stay_kind",
            ),
            models.CheckConstraint(
                condition=Q(in_county=False) | Q(institution__isnull=False), name="encounters_in_county_place"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d}"
