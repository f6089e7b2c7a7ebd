from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamilydoctorConfig(AppConfig):
    name = "yigongti.familydoctor"
    verbose_name = _("Family doctors")

    def ready(self) -> None:
        """Plug the contracted team into referrals (see ``referrals.grassroots``)."""
        from yigongti.referrals import grassroots

        from . import grassroots as mine

        if mine.resolve not in grassroots.GRASSROOTS_RESOLVERS:
            grassroots.GRASSROOTS_RESOLVERS.append(mine.resolve)
        if mine.visibility not in grassroots.VISIBILITY_EXTENSIONS:
            grassroots.VISIBILITY_EXTENSIONS.append(mine.visibility)
