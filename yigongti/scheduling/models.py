"""Clinic sessions, appointment slots (some reserved for referrals), bookings and the booking policy."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from .choices import BookingStatus, SessionKind, SessionStatus


class SchedulingPolicy(TimeStampedModel):
    """The rules of booking for a consortium, or for one institution that overrides them.

    ``release_lead_hours``: a slot reserved for referrals becomes public this many hours before
    its session starts (computed when read, so no job has to run). The no-show rule: a resident
    login whose bookings were ``no_show_limit`` times no-shows within ``no_show_window_days``
    may not book for ``block_days`` after the last of them (staff may still book for them).
    """

    consortium = models.ForeignKey(
        "institutions.Consortium",
        on_delete=models.CASCADE,
        related_name="scheduling_policies",
        verbose_name=_("consortium"),
    )
    institution = models.OneToOneField(
        "institutions.Institution",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="scheduling_policy",
        verbose_name=_("institution"),
        help_text=_("Leave empty for the consortium's default."),
    )
    release_lead_hours = models.PositiveIntegerField(
        _("release reserved slots (hours before the session)"), default=48
    )
    no_show_limit = models.PositiveIntegerField(_("no-shows that block self-booking"), default=3)
    no_show_window_days = models.PositiveIntegerField(_("counted over (days)"), default=90)
    block_days = models.PositiveIntegerField(_("self-booking blocked for (days)"), default=30)

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policies")
        constraints = [
            models.UniqueConstraint(
                fields=["consortium"], condition=Q(institution=None), name="sched_one_default_policy"
            ),
            models.CheckConstraint(condition=Q(no_show_limit__gte=1), name="sched_policy_limit_positive"),
        ]

    def __str__(self) -> str:
        return str(self.institution or self.consortium)


class ClinicSession(TimeStampedModel):
    """A half-day clinic of one department, usually with a named doctor (出诊).

    ``doctor`` may work at another member institution: a county specialist holding a clinic at a
    township centre (专家坐诊) has ``kind = specialist``. ``starts_at``/``ends_at`` are the aware
    instants of ``date`` + ``start``/``end`` in the county's time zone, stored because the
    release of reserved slots and every "future" filter compare against them.
    """

    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="clinic_sessions",
        verbose_name=_("institution"),
    )
    department = models.ForeignKey(
        "institutions.Department",
        on_delete=models.PROTECT,
        related_name="clinic_sessions",
        verbose_name=_("department"),
    )
    doctor = models.ForeignKey(
        "institutions.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clinic_sessions",
        verbose_name=_("doctor"),
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=SessionKind.choices, default=SessionKind.REGULAR
    )
    date = models.DateField(_("date"), db_index=True)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    slot_minutes = models.PositiveIntegerField(_("minutes per slot"), default=15)
    status = models.CharField(
        _("status"), max_length=16, choices=SessionStatus.choices, default=SessionStatus.OPEN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("clinic session")
        verbose_name_plural = _("clinic sessions")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["institution", "date"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="sched_session_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.date:%Y-%m-%d} {self.start:%H:%M}"

    @property
    def is_specialist(self) -> bool:
        return self.kind == SessionKind.SPECIALIST


class Slot(TimeStampedModel):
    """A time within a session with ``capacity`` places; ``booked`` counts the places held.

    ``booked`` is changed only by a conditional UPDATE (``booked < capacity``), so two people
    taking the last place at the same moment cannot both succeed: the database decides.
    """

    session = models.ForeignKey(
        ClinicSession, on_delete=models.CASCADE, related_name="slots", verbose_name=_("clinic session")
    )
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"), default=1)
    booked = models.PositiveIntegerField(_("places taken"), default=0)
    reserved_for_referral = models.BooleanField(_("reserved for referrals"), default=False)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="sched_slot_not_overbooked"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="sched_slot_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} · {timezone.localtime(self.starts_at):%H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)

    def released_at(self, lead_hours: int) -> dt.datetime:
        """When a reserved slot becomes public: its session's start minus the lead time."""
        return self.session.starts_at - dt.timedelta(hours=lead_hours)


class Booking(TimeStampedModel):
    """One patient's place in one slot. History of its moves is in the audit table."""

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot"))
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="bookings", verbose_name=_("resident")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    for_referral = models.BooleanField(_("for a referral"), default=False)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bookings_made",
        verbose_name=_("booked by"),
    )
    booked_by_role = models.CharField(_("booked in role"), max_length=32, blank=True)
    booked_at_institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked from institution"),
    )
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        verbose_name=_("moved from"),
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["slot__starts_at", "id"]
        indexes = [models.Index(fields=["patient", "status"]), models.Index(fields=["booked_by", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "patient"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="sched_one_live_booking_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} · {self.slot}"

    @property
    def is_live(self) -> bool:
        return self.status in (BookingStatus.BOOKED, BookingStatus.CHECKED_IN)
