"""Units, directions and groupings of indicators."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    PERCENT = "percent", _("per cent")
    PER_100 = "per_100", _("per 100")
    COUNT = "count", _("count")
    YUAN = "yuan", _("yuan")
    DAYS = "days", _("days")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")
    NEUTRAL = "neutral", _("For information")


class GroupBy(models.TextChoices):
    CONSORTIUM = "consortium", _("Consortium")
    INSTITUTION = "institution", _("Institution")
    LEVEL = "level", _("Level")
    TOWNSHIP = "township", _("Township")


class Light(models.TextChoices):
    GREEN = "green", _("On target")
    AMBER = "amber", _("Close to target")
    RED = "red", _("Off target")
    NONE = "none", _("No target")
