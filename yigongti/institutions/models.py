"""The consortium, its member institutions as a tree, departments, staff and secondments."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from .choices import (
    LEVEL_OF_KIND,
    DepartmentCategory,
    ExternalLevel,
    InstitutionKind,
    Level,
    Profession,
    Sex,
    Title,
)


class Consortium(TimeStampedModel):
    """A county medical consortium (医共体): the lead hospital and its members, run as one."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    county_code = models.CharField(_("county code"), max_length=6, db_index=True)
    county_name = models.CharField(_("county"), max_length=50)

    class Meta:
        verbose_name = _("consortium")
        verbose_name_plural = _("consortia")

    def __str__(self) -> str:
        return self.name


class Institution(TimeStampedModel):
    """A lead hospital, member hospital, township centre, village clinic or external hospital.

    ``code`` is 12 digits: the GB/T 2260 county code, then three digits for the township and three
    for the village, so that a clinic's code says where it is (county-level institutions use
    township 000). ``level`` is stored (derived from ``kind``) because every scope filter uses it.
    """

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=InstitutionKind.choices)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, editable=False)
    consortium = models.ForeignKey(
        Consortium,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="institutions",
        verbose_name=_("consortium"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent institution"),
    )
    area_code = models.CharField(_("area code"), max_length=6, db_index=True)
    township_name = models.CharField(_("township"), max_length=40, blank=True)
    external_level = models.CharField(
        _("external level"), max_length=16, choices=ExternalLevel.choices, blank=True
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["code"]
        indexes = [models.Index(fields=["consortium", "level"]), models.Index(fields=["parent", "kind"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.level = LEVEL_OF_KIND[self.kind]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_external(self) -> bool:
        return self.kind == InstitutionKind.EXTERNAL_HOSPITAL

    @property
    def is_grassroots(self) -> bool:
        return self.level in (Level.TOWNSHIP, Level.VILLAGE)


class Department(TimeStampedModel):
    """A clinical or support department with its approved beds."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="departments", verbose_name=_("institution")
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=60)
    category = models.CharField(_("category"), max_length=32, choices=DepartmentCategory.choices)
    beds = models.PositiveIntegerField(_("beds"), default=0)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["institution_id", "code"]
        constraints = [models.UniqueConstraint(fields=["institution", "code"], name="uniq_department_code")]

    def __str__(self) -> str:
        return f"{self.institution.short_name or self.institution.name} · {self.name}"


class Staff(TimeStampedModel):
    """A person employed by a member institution; may or may not have a login."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="staff", verbose_name=_("institution")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("department"),
    )
    employee_no = models.CharField(_("employee number"), max_length=20)
    name = models.CharField(_("name"), max_length=40, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True, unique=True)
    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices)
    title = models.CharField(
        _("professional title"), max_length=32, choices=Title.choices, default=Title.NONE
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_profile",
        verbose_name=_("login"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["institution_id", "employee_no"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "employee_no"], name="uniq_employee_no")
        ]
        indexes = [models.Index(fields=["institution", "profession"])]

    def __str__(self) -> str:
        return self.name


class Secondment(TimeStampedModel):
    """A staff member stationed at another member for a period (派驻/下沉), e.g. a county doctor
    at a township centre. The home institution is copied at creation because staff may move."""

    staff = models.ForeignKey(
        Staff, on_delete=models.PROTECT, related_name="secondments", verbose_name=_("staff")
    )
    home = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="secondments_out",
        verbose_name=_("home institution"),
    )
    host = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="secondments_in",
        verbose_name=_("host institution"),
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    ended_early_on = models.DateField(_("ended early on"), null=True, blank=True)

    class Meta:
        verbose_name = _("secondment")
        verbose_name_plural = _("secondments")
        ordering = ["-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="secondment_dates"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} → {self.host}"

    @property
    def effective_end(self) -> dt.date:
        return self.ended_early_on or self.end_date

    def is_current(self, today: dt.date) -> bool:
        return self.start_date <= today <= self.effective_end
