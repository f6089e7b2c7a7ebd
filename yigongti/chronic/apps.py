from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChronicConfig(AppConfig):
    name = "yigongti.chronic"
    verbose_name = _("Chronic disease and the elderly")
