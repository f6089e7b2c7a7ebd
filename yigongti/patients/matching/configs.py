"""Training and storing matching configurations (``MatchConfig``), audited.

``config_train`` samples registrations, turns them into the normalised records of
``training`` (the same features the engine compares), lets Splink estimate the prior, u (random
sampling) and m (EM), and stores the result as the next version. Thresholds are kept from the
previous version unless given. Registrations keep the version that decided them, so an older
decision can always be explained with its own weights.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution

from ..models import MatchConfig, Registration
from .engine import Features
from .importing import SourceRow, read_rows
from .index import FEATURE_FIELDS, LINK_THRESHOLD, REVIEW_THRESHOLD, registration_features

#: Registrations sampled for training (Splink's EM at 200k takes well under a minute here).
DEFAULT_SAMPLE = 200_000
MIN_RECORDS = 200


def training_record(unique_id: int, f: Features) -> dict[str, Any]:
    """The normalised record of ``training`` for one registration's features."""
    return {
        "unique_id": str(unique_id),
        "name": f.name,
        "pinyin": f.pinyin[0] if f.pinyin else "",
        "pinyin_all": list(f.pinyin),
        "sex": f.sex,
        "birth_date": f.birth_date.isoformat() if f.birth_date else "",
        "id_number": f.id_number,
        "phone": f.phone,
        "village": f.village,
    }


def training_records(sample: int) -> list[dict[str, Any]]:
    """Up to ``sample`` registrations, spread over the whole table by primary key."""
    total = Registration.objects.count()
    step = max(1, total // max(sample, 1))
    qs = Registration.objects.order_by("pk").values("pk", *FEATURE_FIELDS)
    records: list[dict[str, Any]] = []
    for index, row in enumerate(qs.iterator(chunk_size=20000)):
        if index % step == 0 and len(records) < sample:
            records.append(training_record(row["pk"], registration_features(row)))
    return records


def file_records(path: Path, sample: int = DEFAULT_SAMPLE) -> list[dict[str, Any]]:
    """Training records from a file ``import_residents`` reads: the rows it would accept."""
    from .batch import row_features

    villages = dict(Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC).values_list("pk", "code"))
    records: list[dict[str, Any]] = []
    for row in read_rows(path):
        if len(records) >= sample:
            break
        if isinstance(row, SourceRow):
            f = row_features(row, villages)
            if f is not None:
                records.append(training_record(len(records) + 1, f))
    return records


@transaction.atomic
def config_train(
    *,
    actor: Any,
    sample: int = DEFAULT_SAMPLE,
    link: float | None = None,
    review: float | None = None,
    seed: int = 1,
    records: list[dict[str, Any]] | None = None,
) -> MatchConfig:
    """Estimate weights from the registrations (or ``records``, see ``file_records``) and store
    them as the next version."""
    if actor is not None:
        scope = scope_for(actor)
        scope.require(scope.manages_consortium, _("Only the consortium office may retrain the matcher."))
    from .training import train  # Splink and DuckDB load only when training

    previous = MatchConfig.objects.order_by("-version").first()
    link = link if link is not None else (previous.link_threshold if previous else LINK_THRESHOLD)
    review = review if review is not None else (previous.review_threshold if previous else REVIEW_THRESHOLD)
    if not (0 < review < link < 1):
        raise InvalidInput(_("The thresholds must satisfy 0 < review < link < 1."), field="link")
    records = records if records is not None else training_records(sample)
    if len(records) < MIN_RECORDS:
        raise InvalidInput(_("Too few registrations to estimate weights from."), field="sample")
    started = time.perf_counter()
    # Splink logs a warning for every level an EM pass cannot see (the field it blocks on):
    # expected, and each level is trained by another pass; keep the console for real problems.
    splink_log = logging.getLogger("splink")
    level = splink_log.level
    splink_log.setLevel(logging.ERROR)
    try:
        parameters = train(records, seed=seed)
    finally:
        splink_log.setLevel(level)
    seconds = time.perf_counter() - started
    config = MatchConfig.objects.create(
        version=(previous.version + 1) if previous else 1,
        parameters=parameters,
        link_threshold=link,
        review_threshold=review,
        trained_on=len(records),
        note=f"{parameters.get('engine', 'splink')}, {len(records)} registrations, {seconds:.0f} s"[:200],
    )
    audit(
        actor=actor,
        verb="patient.matcher_train",
        subject=config,
        after={"version": config.version, "trained_on": len(records), "link": link, "review": review},
    )
    return config
