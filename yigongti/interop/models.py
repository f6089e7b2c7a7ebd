"""Interop's own tables: the HL7 v2 message log, results received for the diagnostics
capability, bulk-export jobs, and which national identifier system a local record number came in.

Everything else the FHIR facade serves is read from and written to the owning apps' tables
through their selectors and services; nothing here is a second copy of a resource.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from .choices import AckCode, Channel, ExportStatus


class Hl7Message(TimeStampedModel):
    """One HL7 v2 message received (MLLP or HTTP) and how we answered it.

    Kept for the consortium office to trace an interface problem: who sent what, when, and the
    reason of every NAK. ``raw`` is the decoded text (first 64 kB).
    """

    received_at = models.DateTimeField(_("received at"), db_index=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    sender = models.CharField(_("sender"), max_length=120, blank=True)
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("institution"),
    )
    message_type = models.CharField(_("message type"), max_length=20, blank=True)
    control_id = models.CharField(_("control id"), max_length=64, blank=True)
    encoding = models.CharField(_("character set"), max_length=20, blank=True)
    outcome = models.CharField(_("outcome"), max_length=2, choices=AckCode.choices)
    error = models.TextField(_("error"), blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)
    raw = models.TextField(_("message"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )

    class Meta:
        verbose_name = _("HL7 message")
        verbose_name_plural = _("HL7 messages")
        indexes = [models.Index(fields=["institution", "-received_at"], name="interop_hl7_inst_time")]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id}"


class LabResult(TimeStampedModel):
    """One OBX result of an ORU^R01, kept for the diagnostics capability to take over.

    ``patient`` is the resident the master index found for the PID (null when none matched);
    values are as sent (text), with units, reference range and abnormal flag.
    """

    message = models.ForeignKey(
        Hl7Message, on_delete=models.PROTECT, related_name="results", verbose_name=_("message")
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("institution"),
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resident"),
    )
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    panel_code = models.CharField(_("panel code"), max_length=64, blank=True)
    panel_name = models.CharField(_("panel"), max_length=200, blank=True)
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    value_type = models.CharField(_("value type"), max_length=4, blank=True)
    value = models.CharField(_("value"), max_length=500, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    reference_range = models.CharField(_("reference range"), max_length=100, blank=True)
    abnormal_flag = models.CharField(_("abnormal flag"), max_length=10, blank=True)
    status = models.CharField(_("result status"), max_length=2, blank=True)
    observed_at = models.DateTimeField(_("observed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("received result")
        verbose_name_plural = _("received results")
        indexes = [models.Index(fields=["patient", "code"], name="interop_result_patient")]

    def __str__(self) -> str:
        return f"{self.code}={self.value}"


class RegistrationIdentifier(models.Model):
    """Which national identifier system (outpatient or inpatient number) a registration's local
    record number arrived with, so that FHIR reads it back under the same system."""

    registration = models.OneToOneField(
        "patients.Registration", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    system = models.CharField(_("identifier system"), max_length=100)

    class Meta:
        verbose_name = _("identifier system of a registration")
        verbose_name_plural = _("identifier systems of registrations")

    def __str__(self) -> str:
        return self.system


class ExportJob(TimeStampedModel):
    """A FHIR bulk export ($export): who asked, for what, and where the NDJSON files are.

    The job runs in a background thread of the process that accepted it (or, if that process
    died, again with ``manage.py fhir_export --run-pending``); its state is this row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    membership = models.ForeignKey(
        "accounts.Membership", on_delete=models.PROTECT, related_name="+", verbose_name=_("membership")
    )
    level = models.CharField(_("level"), max_length=10)  # system | patient
    types = models.JSONField(_("resource types"), default=list)
    since = models.DateTimeField(_("since"), null=True, blank=True)
    request_url = models.CharField(_("request"), max_length=500)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.CharField(_("progress"), max_length=100, blank=True)
    output = models.JSONField(_("files"), default=list)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("FHIR export")
        verbose_name_plural = _("FHIR exports")

    def __str__(self) -> str:
        return str(self.id)
