from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yigongti.accounts"
    verbose_name = _("Accounts and access")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import stamp_login_time

        user_logged_in.connect(stamp_login_time, dispatch_uid="ygt_stamp_login_time")
