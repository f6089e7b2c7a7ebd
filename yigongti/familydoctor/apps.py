from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamilydoctorConfig(AppConfig):
    name = "yigongti.familydoctor"
    verbose_name = _("Family doctors")

    def ready(self) -> None:
        """Plug the contracted team into referrals (see ``referrals.grassroots``), and let the
        open contracts' priority groups follow the registers (``hooks.priority_changed``)."""
        from yigongti.referrals import grassroots

        from . import grassroots as mine
        from .hooks import priority_changed
        from .receivers import follow_priority

        priority_changed.connect(follow_priority, dispatch_uid="familydoctor.follow_priority")

        if mine.resolve not in grassroots.GRASSROOTS_RESOLVERS:
            grassroots.GRASSROOTS_RESOLVERS.append(mine.resolve)
        if mine.visibility not in grassroots.VISIBILITY_EXTENSIONS:
            grassroots.VISIBILITY_EXTENSIONS.append(mine.visibility)
