from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EncountersConfig(AppConfig):
    name = "yigongti.encounters"
    verbose_name = _("Encounters")
