"""``manage.py demo_logins``: the demo logins, read from the database (works on every later run)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from yigongti.demo.logins import login_lines, render_table


class Command(BaseCommand):
    help = "Print the demo logins: role, username, password and institution."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = login_lines()
        with translation.override("zh-hans"):
            if not lines:
                self.stdout.write(_("No demo logins found. Run: python manage.py generate_county"))
                return
            headers = [_("Role"), _("Username"), _("Password"), _("Name"), _("Institution")]
            rows = [[ln.role_label, ln.username, ln.password, ln.full_name, ln.institution] for ln in lines]
            self.stdout.write(render_table(headers, rows), ending="")
