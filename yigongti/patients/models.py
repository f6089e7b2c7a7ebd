"""Residents: households and the patient golden record that every member institution shares."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel
from yigongti.institutions.choices import Sex


class Household(TimeStampedModel):
    """A household (户) registered with a village clinic."""

    code = models.CharField(_("household number"), max_length=20, unique=True)
    village = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name=_("village clinic"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.code


class Patient(TimeStampedModel):
    """One resident: the golden record of the master patient index.

    ``health_record_number`` is the 17-digit health-record number: county (6) + township (3) +
    village (3) + person (5). ``id_number`` is the 18-character GB 11643 number when known.
    ``village`` is the clinic of residence, which decides who looks after the resident.
    """

    health_record_number = models.CharField(_("health record number"), max_length=17, unique=True)
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=40, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"), db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("household"),
    )
    relation_to_head = models.CharField(_("relation to head of household"), max_length=16, blank=True)
    village = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("village clinic"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
        verbose_name=_("login"),
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        indexes = [models.Index(fields=["village", "birth_date"])]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class NameKeyKind(models.TextChoices):
    PINYIN = "pinyin", _("pinyin")
    INITIALS = "initials", _("pinyin initials")
    SIMPLIFIED = "simplified", _("simplified name")


class PatientNameKey(models.Model):
    """A search key of a resident's name (see ``patients.names``), derived from ``Patient.name``.

    Written only by ``services.patient_name_keys_write`` (create, rename, bulk load) and searched by
    prefix through the (kind, key) index. On PostgreSQL the index uses ``varchar_pattern_ops`` so
    that ``LIKE 'zw%'`` is an index range scan whatever the database collation; SQLite ignores
    the operator class and the selector adds an equivalent range condition instead.
    Keys are derived data: they go with the resident (CASCADE).
    """

    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="name_keys",
        db_index=False,  # the unique constraint below starts with patient
        verbose_name=_("resident"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=NameKeyKind.choices)
    key = models.CharField(_("key"), max_length=255)

    class Meta:
        verbose_name = _("name search key")
        verbose_name_plural = _("name search keys")
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "key"], name="patients_namekey_unique"),
        ]
        indexes = [
            models.Index(
                fields=["kind", "key"],
                name="patients_namekey_kind_key",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"
