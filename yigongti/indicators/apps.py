from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_catalogue(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After migrate (and after a test flush, which emits the same signal): the seed catalogue
    and its parts exist, computed from whatever the tables hold, and so do the analytic indexes
    (made or replaced on SQLite and PostgreSQL)."""
    from . import analytic, engine, seed

    seed.load()
    engine.sync_parts()
    analytic.ensure_indexes()


class IndicatorsConfig(AppConfig):
    name = "yigongti.indicators"
    verbose_name = _("Indicators")

    def ready(self) -> None:
        from . import hooks

        hooks.connect()
        post_migrate.connect(_load_catalogue, sender=self, dispatch_uid="indicators.catalogue")
