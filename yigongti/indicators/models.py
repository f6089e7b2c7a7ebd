"""The indicator catalogue (data, not code), targets, population reference data and the monthly
aggregate cells that the dashboard reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from . import definitions
from .choices import Direction, Unit


class Indicator(TimeStampedModel):
    """One monitored indicator: value = numerator ÷ denominator × scale (or the numerator alone).

    Numerator and denominator are definitions in the small language of ``definitions`` (source,
    filters, measure); ``clean()`` refuses a broken one with the part it is in, so officials can
    add or correct an indicator in the admin without code.
    """

    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", _("Lower-case letters, digits and _ only."))],
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    area = models.CharField(_("area"), max_length=60, blank=True)
    numerator = models.JSONField(_("numerator"))
    denominator = models.JSONField(_("denominator"), null=True, blank=True)
    scale = models.DecimalField(
        _("scale"), max_digits=8, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.PERCENT)
    direction = models.CharField(
        _("direction"), max_length=16, choices=Direction.choices, default=Direction.HIGHER
    )
    source_document = models.CharField(_("source document"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    def parts(self) -> tuple[definitions.Definition, definitions.Definition | None]:
        """The validated numerator and denominator (a stored row was validated on save)."""
        num = definitions.validate(self.numerator, where="numerator")
        den = (
            None if self.denominator is None else definitions.validate(self.denominator, where="denominator")
        )
        return num, den

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        for name in ("numerator", "denominator"):
            value = getattr(self, name)
            if value is None and name == "denominator":
                continue
            try:
                definitions.validate(value, where=name)
            except ValidationError as exc:
                errors[name] = exc
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.clean()
        super().save(*args, **kwargs)


class IndicatorTarget(TimeStampedModel):
    """The target of an indicator for one consortium and year (in the indicator's unit)."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="targets", verbose_name=_("indicator")
    )
    consortium = models.ForeignKey(
        "institutions.Consortium", on_delete=models.CASCADE, related_name="+", verbose_name=_("consortium")
    )
    year = models.PositiveIntegerField(_("year"), validators=[MinValueValidator(2000)])
    value = models.DecimalField(_("target"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("indicator target")
        verbose_name_plural = _("indicator targets")
        ordering = ["indicator_id", "consortium_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "consortium", "year"], name="uniq_indicator_target")
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.year}: {self.value}"


class PopulationReference(TimeStampedModel):
    """Permanent residents (常住人口) of a village or township for a year: the denominator of the
    health-record filing rate. Kept as reference data because no table of ours can know it."""

    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("village clinic or township centre"),
    )
    year = models.PositiveIntegerField(_("year"), validators=[MinValueValidator(2000)])
    permanent_residents = models.PositiveIntegerField(_("permanent residents"))

    class Meta:
        verbose_name = _("permanent population")
        verbose_name_plural = _("permanent population")
        ordering = ["year", "institution_id"]
        constraints = [models.UniqueConstraint(fields=["institution", "year"], name="uniq_population_year")]

    def __str__(self) -> str:
        return f"{self.institution} {self.year}: {self.permanent_residents}"

    def clean(self) -> None:
        from yigongti.institutions.choices import InstitutionKind

        kind = getattr(self.institution, "kind", None) if self.institution_id else None
        if kind not in (InstitutionKind.VILLAGE_CLINIC, InstitutionKind.TOWNSHIP_CENTRE):
            raise ValidationError(
                {"institution": _("Population is kept per village clinic or township centre.")}
            )


class IndicatorPart(models.Model):
    """A definition in use (a numerator, a denominator, or a source's row count), by its key.

    Indicators sharing a definition share its cells. ``definition`` is the canonical JSON."""

    key = models.CharField(_("key"), max_length=32, primary_key=True)
    source = models.CharField(_("source"), max_length=32, db_index=True)
    definition = models.JSONField(_("definition"))

    class Meta:
        verbose_name = _("indicator part")
        verbose_name_plural = _("indicator parts")

    def __str__(self) -> str:
        return self.key

    def parsed(self) -> definitions.Definition:
        return definitions.validate(self.definition)


class IndicatorCell(models.Model):
    """The measure of one part at one institution in one month (no month for capacities).

    Kept current by recomputing only the touched (institution, month) cells when data changes;
    quarters, years, levels, townships and the consortium are sums of these cells."""

    # A derived row, written only by the engine together with its part: no index of its own
    # (the covering index starts with the part) and no database constraint (each of a rebuild's
    # 100 000-odd cells would look its part up, and SQLite would delete row by row instead of
    # emptying the table); the ORM still deletes a part's cells with it.
    part = models.ForeignKey(
        IndicatorPart, on_delete=models.CASCADE, related_name="cells", db_index=False, db_constraint=False
    )
    institution_id = models.IntegerField(_("institution"), null=True)
    month = models.DateField(_("month"), null=True)
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=2)

    class Meta:
        verbose_name = _("indicator cell")
        verbose_name_plural = _("indicator cells")
        # value last: the dashboard's sums read the index alone (no lookup of each row); the
        # institution before the month: they group a part's cells by institution, which SQLite
        # then reads in index order instead of sorting them (140 ms became 85 ms at 400 k residents)
        indexes = [models.Index(fields=["part", "institution_id", "month", "value"], name="ind_cell_by_inst")]

    def __str__(self) -> str:
        return f"{self.part_id} {self.institution_id} {self.month}: {self.value}"
