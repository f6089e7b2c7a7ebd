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
    village (3) + person (5), given when a village clinic files the resident's health record (a
    patient first seen at the county hospital has none yet). ``id_number`` is the 18-character
    GB 11643 number once a registration brought a valid one: a number with a wrong check
    character is kept on its registration only, never here. ``village`` is the clinic of
    residence, which decides who looks after the resident. A resident merged into another keeps
    its row (``merged_into``) so that the merge can be undone exactly; it has no registrations
    and appears in no list or match.
    """

    health_record_number = models.CharField(
        _("health record number"), max_length=17, unique=True, null=True, blank=True
    )
    id_number = models.CharField(_("ID number"), max_length=18, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=40, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), db_index=True, null=True, blank=True)
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
        null=True,
        blank=True,
        verbose_name=_("village clinic"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
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

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class NameKeyKind(models.TextChoices):
    PINYIN = "pinyin", _("pinyin")
    INITIALS = "initials", _("pinyin initials")
    SIMPLIFIED = "simplified", _("simplified name")
    SUFFIX = "suffix", _("simplified name from a character on")


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


class RegistrationSource(models.TextChoices):
    FILING = "filing", _("Health record filing")
    DESK = "desk", _("Registration desk")
    API = "api", _("Interface")
    IMPORT = "import", _("Batch import")


class Decision(models.TextChoices):
    NEW = "new", _("New resident")
    LINKED = "linked", _("Linked")
    REVIEW = "review", _("Sent to review")


class IdProblem(models.TextChoices):
    NONE = "", _("None")
    CHECK = "check", _("Wrong check character")
    FORMAT = "format", _("Not an ID number")


class MatchConfig(models.Model):
    """A versioned set of Fellegi–Sunter parameters: m/u per field level, prior, thresholds.

    Trained from the registrations by ``manage.py train_matcher`` (Splink's EM as the training
    engine, see ``matching.training``); the newest active row is used. Rows are never changed
    after use: every registration keeps the version that decided it.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    parameters = models.JSONField(_("parameters"))
    link_threshold = models.FloatField(_("auto-link threshold (probability)"))
    review_threshold = models.FloatField(_("review threshold (probability)"))
    trained_on = models.PositiveIntegerField(_("records trained on"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("matching configuration")
        verbose_name_plural = _("matching configurations")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class Registration(TimeStampedModel):
    """One institution's record of a resident, as entered (a source registration).

    The fields are kept as the clerk typed them (``id_number_entered``) beside the normalised
    values the matcher compares; ``id_number`` holds the normalised 18-character number only
    when its check character is right. The ``*_key`` columns are the indexed blocking keys
    (see ``matching.engine.block_keys``): every candidate lookup is an index probe on them.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("resident")
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("institution"),
    )
    local_number = models.CharField(_("local record number"), max_length=40)
    source = models.CharField(_("source"), max_length=10, choices=RegistrationSource.choices)
    name = models.CharField(_("name"), max_length=40)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number_entered = models.CharField(_("ID number as entered"), max_length=32, blank=True)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    id_problem = models.CharField(_("ID number problem"), max_length=6, choices=IdProblem.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    village = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("village clinic"),
    )
    health_card_number = models.CharField(_("health card number"), max_length=32, blank=True)
    insurance_number = models.CharField(_("insurance number"), max_length=32, blank=True)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    probability = models.FloatField(_("match probability"), null=True, blank=True)
    explanation = models.JSONField(_("explanation"), default=dict, blank=True)
    config = models.ForeignKey(
        MatchConfig,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matching configuration"),
    )
    # Blocking keys (derived, indexed).
    id_tail = models.CharField(max_length=8, blank=True)
    name_key = models.CharField(max_length=80, blank=True)
    birth_key = models.CharField(max_length=12, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "local_number"], name="patients_registration_local"
            ),
        ]
        indexes = [
            models.Index(fields=["patient"], name="patients_reg_patient"),
            models.Index(fields=["id_number"], name="patients_reg_id"),
            models.Index(fields=["id_tail"], name="patients_reg_id_tail"),
            models.Index(fields=["phone"], name="patients_reg_phone"),
            models.Index(fields=["name_key"], name="patients_reg_name_key"),
            models.Index(fields=["birth_key"], name="patients_reg_birth_key"),
            models.Index(fields=["name"], name="patients_reg_name"),
            models.Index(fields=["health_card_number"], name="patients_reg_card"),
            models.Index(fields=["insurance_number"], name="patients_reg_insurance"),
        ]

    def __str__(self) -> str:
        return f"{self.local_number} {self.name}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SAME = "same", _("Same person")
    DIFFERENT = "different", _("Different people")
    WITHDRAWN = "withdrawn", _("Withdrawn")


REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewStatus.OPEN: frozenset({ReviewStatus.SAME, ReviewStatus.DIFFERENT, ReviewStatus.WITHDRAWN}),
    ReviewStatus.SAME: frozenset({ReviewStatus.OPEN}),  # unmerge reopens
    ReviewStatus.DIFFERENT: frozenset(),
    ReviewStatus.WITHDRAWN: frozenset(),
}


class MatchReview(TimeStampedModel):
    """A possible duplicate for a person to decide: the new resident and the candidate.

    A registration scored in the review band creates its own resident (so that care goes on)
    and one review per candidate in the band. "Same person" merges the new resident into the
    candidate (``Merge``); "different people" records a ``NonMatch``.
    """

    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("registration")
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("new resident")
    )
    candidate = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("candidate")
    )
    probability = models.FloatField(_("match probability"))
    explanation = models.JSONField(_("explanation"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("match review")
        verbose_name_plural = _("match reviews")
        constraints = [
            models.UniqueConstraint(fields=["patient", "candidate"], name="patients_review_pair"),
        ]
        indexes = [models.Index(fields=["status", "-probability"], name="patients_review_queue")]

    def __str__(self) -> str:
        return f"{self.patient_id}~{self.candidate_id}"


class NonMatch(models.Model):
    """Two residents a person declared different: never proposed again (``low`` < ``high``)."""

    low = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    review = models.ForeignKey(
        MatchReview, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("non-match")
        verbose_name_plural = _("non-matches")
        constraints = [models.UniqueConstraint(fields=["low", "high"], name="patients_nonmatch_pair")]

    def __str__(self) -> str:
        return f"{self.low_id}≠{self.high_id}"


class Merge(models.Model):
    """One merge of ``merged`` into ``survivor``, with what an unmerge needs to undo it exactly.

    ``registration_ids`` are the registrations moved; ``survivor_before`` the survivor's golden
    fields before the merge (restored on unmerge where the merge changed them).
    """

    survivor = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("survivor")
    )
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("merged"))
    review = models.ForeignKey(MatchReview, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    registration_ids = models.JSONField(_("registrations moved"))
    survivor_before = models.JSONField(_("survivor before"))
    survivor_after = models.JSONField(_("survivor after"))
    merged_before = models.JSONField(_("merged before"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")

    def __str__(self) -> str:
        return f"{self.merged_id}→{self.survivor_id}"


class ImportRun(TimeStampedModel):
    """One run of ``import_residents`` over a file, for resuming and for the summary."""

    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(_("file checksum"), max_length=64)
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+", verbose_name=_("institution")
    )
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    counts = models.JSONField(_("counts"), default=dict)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return self.file_name
