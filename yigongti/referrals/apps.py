from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_reference_data(sender: Any, **kwargs: Any) -> None:
    """After migrate, and after a test flush (which sends the same signal): the coded reasons,
    green-channel kinds and deadlines exist. Only missing rows are added; edits are kept."""
    from django.apps import apps

    import_module("yigongti.referrals.migrations.0002_reference_data").seed(apps, None)


class ReferralsConfig(AppConfig):
    name = "yigongti.referrals"
    verbose_name = _("Referrals")

    def ready(self) -> None:
        post_migrate.connect(_seed_reference_data, sender=self, dispatch_uid="referrals.reference_data")
