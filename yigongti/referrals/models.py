"""Referral slips, their attachments, coded reference data, the bed board, alerts and the
follow-up tasks that close the loop back to the grassroots.

History (who moved a referral when) lives in the audit table; the row keeps only the current
state and the key timestamps that deadlines, green-channel times and indicators count from.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel
from yigongti.institutions.choices import DepartmentCategory
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from .choices import AWAITING, AlertKind, CareMode, Direction, ReasonDirection, Status, TaskStatus, Urgency


class ReferralReason(TimeStampedModel):
    """A coded referral criterion (转诊指征), upward or downward, kept by the consortium office."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)
    direction = models.CharField(_("direction"), max_length=16, choices=ReasonDirection.choices)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("referral reason")
        verbose_name_plural = _("referral reasons")
        ordering = ["direction", "sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class GreenChannelKind(TimeStampedModel):
    """A green-channel condition (chest pain, stroke, ...) and the department it goes to."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=60)
    department_category = models.CharField(
        _("receiving department category"), max_length=32, choices=DepartmentCategory.choices
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("green-channel kind")
        verbose_name_plural = _("green-channel kinds")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class AcceptanceDeadline(TimeStampedModel):
    """How long the receiver has to accept a referral of one urgency."""

    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, unique=True)
    minutes = models.PositiveIntegerField(_("minutes to accept"))

    class Meta:
        verbose_name = _("acceptance deadline")
        verbose_name_plural = _("acceptance deadlines")
        ordering = ["minutes"]

    def __str__(self) -> str:
        return f"{self.get_urgency_display()}: {self.minutes}"


class Referral(TimeStampedModel):
    """One referral slip: the stub, the referral-out part and the return part (national form)."""

    number = models.CharField(_("referral number"), max_length=20, unique=True)
    direction = models.CharField(_("direction"), max_length=16, choices=Direction.choices, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE)
    green_channel = models.ForeignKey(
        GreenChannelKind,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("green channel"),
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("patient")
    )
    from_institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="referrals_out", verbose_name=_("referred from")
    )
    from_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_written",
        verbose_name=_("referring doctor"),
    )
    to_institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="referrals_in", verbose_name=_("referred to")
    )
    to_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_in",
        verbose_name=_("receiving department"),
    )
    assigned_doctor = models.ForeignKey(
        Staff,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_assigned",
        verbose_name=_("assigned doctor"),
    )
    booking = models.ForeignKey(
        "scheduling.Booking",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("appointment"),
        help_text=_("A slot reserved for referrals at the receiver; the green channel needs none."),
    )
    # referral-out slip
    diagnosis_code = models.CharField(_("ICD-10 code"), max_length=10)
    diagnosis_name = models.CharField(_("preliminary diagnosis"), max_length=120)
    history = models.TextField(_("history"), blank=True)
    treatment = models.TextField(_("treatment so far"), blank=True)
    reason = models.ForeignKey(
        ReferralReason, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("reason")
    )
    reason_note = models.CharField(_("reason, in words"), max_length=300, blank=True)
    # receiving side
    care_mode = models.CharField(_("care"), max_length=16, choices=CareMode.choices, blank=True)
    bed_held = models.BooleanField(_("bed held"), default=False)
    refusal_reason = models.CharField(_("reason for rejection"), max_length=300, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    # return slip
    return_diagnosis_code = models.CharField(_("ICD-10 code (return)"), max_length=10, blank=True)
    return_diagnosis_name = models.CharField(_("diagnosis (return)"), max_length=120, blank=True)
    return_results = models.TextField(_("key results"), blank=True)
    return_treatment = models.TextField(_("treatment given"), blank=True)
    return_advice = models.TextField(_("advice for continued care"), blank=True)
    # key times (the history itself is in the audit table)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, db_index=True)
    deadline_at = models.DateTimeField(_("accept by"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    treated_at = models.DateTimeField(_("treatment started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    followed_up_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["to_institution", "status"]),
            models.Index(fields=["from_institution", "status"]),
            models.Index(fields=["status", "deadline_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_overdue(self) -> bool:
        return bool(self.status in AWAITING and self.deadline_at and self.deadline_at < timezone.now())

    @property
    def month_key(self) -> dt.date | None:
        if self.submitted_at is None:
            return None
        local = timezone.localtime(self.submitted_at)
        return local.date().replace(day=1)


class Attachment(TimeStampedModel):
    """A result attached to a referral (report, image, ECG); served only through a scoped view."""

    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("referral")
    )
    file = models.FileField(_("file"), upload_to="referrals/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class WardOccupancy(TimeStampedModel):
    """Beds in use in one department, kept by the ward or the referral service centre.

    Capacity is ``Department.beds``; holds are the green-channel referrals with ``bed_held``.
    """

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="occupancy", verbose_name=_("department")
    )
    occupied = models.PositiveIntegerField(_("occupied beds"), default=0)

    class Meta:
        verbose_name = _("ward occupancy")
        verbose_name_plural = _("ward occupancy")

    def __str__(self) -> str:
        return f"{self.department}: {self.occupied}"


class Alert(TimeStampedModel):
    """An in-app alert for a receiving institution (and department), shown until acknowledged."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="alerts")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="referral_alerts")
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="referral_alerts"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("referral alert")
        verbose_name_plural = _("referral alerts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.referral_id}"


class FollowUpTask(TimeStampedModel):
    """The grassroots doctor's follow-up after a downward or completed upward referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="follow_ups")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referral_follow_ups")
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="referral_follow_ups",
        verbose_name=_("institution"),
    )
    staff = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("doctor")
    )
    due_on = models.DateField(_("due on"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("follow-up note"), blank=True)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["institution", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.due_on}"
