"""Family-doctor teams, service packages, contracts, fulfilment tasks, home visits and home beds."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.models import TimeStampedModel

from .choices import (
    OPEN_STATUSES,
    BedStatus,
    Channel,
    ContractStatus,
    PackageKind,
    PriorityGroup,
    TaskStatus,
    TeamRole,
    VisitStatus,
)


class Team(TimeStampedModel):
    """A family-doctor team (家庭医生团队) based at a township centre or a village clinic.

    ``villages`` are the village clinics whose residents it may sign; all lie in the team's
    township (the centre itself, or the centre above the clinic), which the service checks.
    """

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="family_doctor_teams",
        verbose_name=_("based at"),
    )
    villages = models.ManyToManyField(
        "institutions.Institution", related_name="served_by_teams", verbose_name=_("villages served")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("family-doctor team")
        verbose_name_plural = _("family-doctor teams")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def doctor(self) -> TeamMember | None:
        for m in self.members.all():
            if m.role == TeamRole.FAMILY_DOCTOR:
                return m
        return None


class TeamMember(TimeStampedModel):
    """One person's place in a team ("1+1+1": family doctor, nurse, public health, specialist)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members", verbose_name=_("team"))
    staff = models.ForeignKey(
        "institutions.Staff",
        on_delete=models.PROTECT,
        related_name="team_memberships",
        verbose_name=_("staff member"),
    )
    role = models.CharField(_("team role"), max_length=20, choices=TeamRole.choices)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["team_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "staff"], name="fd_member_once"),
            models.UniqueConstraint(
                fields=["team"], condition=Q(role="family_doctor"), name="fd_one_family_doctor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} ({self.get_role_display()})"


class ServicePackage(TimeStampedModel):
    """A service package (签约服务包): the basic one or a personalised one for a group.

    ``insurance_share`` is what insurance and public-health funds pay of ``price``; the resident
    pays the rest.
    """

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=16, choices=PackageKind.choices)
    target_group = models.CharField(
        _("target group"), max_length=16, choices=PriorityGroup.choices, blank=True
    )
    price = models.DecimalField(_("price (yuan per year)"), max_digits=8, decimal_places=2)
    insurance_share = models.DecimalField(
        _("paid by insurance (yuan)"), max_digits=8, decimal_places=2, default=Decimal("0")
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service package")
        verbose_name_plural = _("service packages")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(insurance_share__lte=F("price")) & Q(insurance_share__gte=0),
                name="fd_package_share",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def resident_pays(self) -> Decimal:
        return self.price - self.insurance_share


class PackageItem(TimeStampedModel):
    """One service of a package and how many times a year it is due."""

    package = models.ForeignKey(
        ServicePackage, on_delete=models.CASCADE, related_name="items", verbose_name=_("service package")
    )
    name = models.CharField(_("name"), max_length=80)
    times_per_year = models.PositiveSmallIntegerField(
        _("times per year"), validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    is_home_visit = models.BooleanField(_("done at home"), default=False)

    class Meta:
        verbose_name = _("package item")
        verbose_name_plural = _("package items")
        ordering = ["package_id", "id"]

    def __str__(self) -> str:
        return self.name


class Contract(TimeStampedModel):
    """A family-doctor contract (家庭医生签约): one resident, one team, one term of at least a year.

    ``priority_groups`` holds the codes of ``PriorityGroup`` the resident belonged to when the
    contract was signed (a JSON list, so the flags can be filtered on both databases through
    ``is_priority``). A resident has at most one pending or active contract (constraint).
    """

    number = models.CharField(_("contract number"), max_length=24, unique=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="fd_contracts", verbose_name=_("resident")
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("team"))
    packages = models.ManyToManyField(ServicePackage, related_name="contracts", verbose_name=_("packages"))
    status = models.CharField(
        _("status"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.PENDING
    )
    channel = models.CharField(_("signing channel"), max_length=8, choices=Channel.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    priority_groups = models.JSONField(_("priority groups"), default=list, blank=True)
    is_priority = models.BooleanField(_("priority group"), default=False, db_index=True)
    fee = models.DecimalField(_("fee (yuan)"), max_digits=8, decimal_places=2, default=Decimal("0"))
    resident_fee = models.DecimalField(
        _("paid by the resident (yuan)"), max_digits=8, decimal_places=2, default=Decimal("0")
    )
    signed_by = models.ForeignKey(
        "institutions.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed by"),
    )
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    paper_signature = models.BooleanField(_("paper signature on file"), default=False)
    previous = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_term",
        verbose_name=_("previous term"),
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("family-doctor contract")
        verbose_name_plural = _("family-doctor contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=[s.value for s in OPEN_STATUSES]),
                name="fd_one_open_contract",
            ),
            models.CheckConstraint(condition=Q(end_date__gt=F("start_date")), name="fd_contract_dates"),
        ]
        indexes = [models.Index(fields=["team", "status"]), models.Index(fields=["status", "end_date"])]

    def __str__(self) -> str:
        return self.number

    def get_priority_labels(self) -> list[str]:
        labels = dict(PriorityGroup.choices)
        return [str(labels.get(g, g)) for g in self.priority_groups]


class Task(models.Model):
    """One due service of a contract's plan (履约任务), generated from the packages' items.

    ``village`` is the resident's village clinic, copied from the resident when the plan is
    written (as the chronic programmes' rows carry theirs): a task counts for the village it was
    planned for, so a month's fulfilment rate does not move when the resident moves later, and the
    indicators read a village's tasks from one index without joining contract and resident."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("contract")
    )
    village = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # the (village, due_on) index below leads with it
        related_name="+",
        verbose_name=_("village clinic"),
    )
    item = models.ForeignKey(
        PackageItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    done_by = models.ForeignKey(
        "institutions.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    result = models.CharField(_("service result"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("fulfilment task")
        verbose_name_plural = _("fulfilment tasks")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["contract", "status", "due_on"]),
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["village", "due_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.due_on}"


class HomeBed(TimeStampedModel):
    """A home bed (家庭病床): treatment at home under the team, from admission to discharge."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="home_beds", verbose_name=_("contract")
    )
    admitted_on = models.DateField(_("admitted to the home bed on"))
    discharged_on = models.DateField(_("discharged from the home bed on"), null=True, blank=True)
    reason = models.CharField(_("reason for the home bed"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=BedStatus.choices, default=BedStatus.OPEN)
    discharge_note = models.CharField(_("discharge note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("home bed")
        verbose_name_plural = _("home beds")
        ordering = ["-admitted_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True) | Q(discharged_on__gte=F("admitted_on")),
                name="fd_bed_dates",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract.patient} {self.admitted_on}"


class HomeVisit(TimeStampedModel):
    """A home visit (上门服务) by the team, scheduled and then recorded; may belong to a home bed."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="home_visits", verbose_name=_("contract")
    )
    home_bed = models.ForeignKey(
        HomeBed,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("home bed"),
    )
    scheduled_on = models.DateField(_("scheduled on"))
    purpose = models.CharField(_("purpose of the visit"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED
    )
    done_on = models.DateField(_("done on"), null=True, blank=True)
    staff = models.ForeignKey(
        "institutions.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visited by"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-scheduled_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contract.patient} {self.scheduled_on}"
