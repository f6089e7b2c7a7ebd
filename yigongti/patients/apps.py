from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_village_addresses(sender: Any, **kwargs: Any) -> None:
    """A clinic's address changed: the master index reads villages from addresses again."""
    from .matching.services import forget_village_keys

    forget_village_keys()


class PatientsConfig(AppConfig):
    name = "yigongti.patients"
    verbose_name = _("Residents and patients")

    def ready(self) -> None:
        from yigongti.institutions.models import Institution

        post_save.connect(_forget_village_addresses, sender=Institution, dispatch_uid="mpi-village-keys-save")
        post_delete.connect(
            _forget_village_addresses, sender=Institution, dispatch_uid="mpi-village-keys-delete"
        )
