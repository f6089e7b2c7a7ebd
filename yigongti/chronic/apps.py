from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChronicConfig(AppConfig):
    name = "yigongti.chronic"
    verbose_name = _("Chronic disease and the elderly")

    def ready(self) -> None:
        """The registers answer the family-doctor priority groups hypertension and diabetes, and
        tell family doctors when an entry opens or closes (one-way: chronic imports
        ``familydoctor.hooks``; familydoctor never imports chronic)."""
        from yigongti.familydoctor import hooks

        from .priority import registry_groups, tell_family_doctors
        from .signals import registry_changed

        if registry_groups not in hooks.PRIORITY_RESOLVERS:
            hooks.PRIORITY_RESOLVERS.append(registry_groups)
        registry_changed.connect(tell_family_doctors, dispatch_uid="chronic.tell_family_doctors")
