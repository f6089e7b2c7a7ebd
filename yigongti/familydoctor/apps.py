from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamilydoctorConfig(AppConfig):
    name = "yigongti.familydoctor"
    verbose_name = _("Family doctors")
