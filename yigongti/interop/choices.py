"""Statuses and kinds of the interop tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    MLLP = "mllp", _("MLLP socket")
    HTTP = "http", _("HTTP")


class AckCode(models.TextChoices):
    ACCEPT = "AA", _("Accepted")
    ERROR = "AE", _("Error")
    REJECT = "AR", _("Rejected")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


#: Legal moves of an export job; anything else is a Conflict.
EXPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ExportStatus.QUEUED: frozenset({ExportStatus.RUNNING, ExportStatus.CANCELLED, ExportStatus.FAILED}),
    ExportStatus.RUNNING: frozenset({ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.CANCELLED}),
    ExportStatus.DONE: frozenset({ExportStatus.CANCELLED}),
    ExportStatus.FAILED: frozenset({ExportStatus.CANCELLED}),
    ExportStatus.CANCELLED: frozenset(),
}
