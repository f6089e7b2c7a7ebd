"""The demo logins: one fixed username per role and one shared password, documented in the README."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from yigongti.accounts.choices import Role
from yigongti.accounts.models import Membership

DEMO_PASSWORD = "Yigongti-2024"  # noqa: S105 - the published demo password, not a secret

#: (role, username) in the order the table prints them.
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    (Role.CONSORTIUM_OFFICE, "office"),
    (Role.HEALTH_BUREAU, "bureau"),
    (Role.COUNTY_DOCTOR, "county_doctor"),
    (Role.TOWNSHIP_DOCTOR, "township_doctor"),
    (Role.VILLAGE_DOCTOR, "village_doctor"),
    (Role.NURSE, "nurse"),
    (Role.PHARMACIST, "pharmacist"),
    (Role.DISPATCHER, "dispatcher"),
    (Role.RESIDENT, "resident"),
)


@dataclass(frozen=True)
class LoginLine:
    role_label: str
    username: str
    password: str
    full_name: str
    institution: str


def login_lines() -> list[LoginLine]:
    """The demo logins as they are in the database now (a changed password is shown as such)."""
    usernames = [username for _role, username in DEMO_LOGINS]
    memberships = {
        (m.user.username, m.role): m
        for m in Membership.objects.filter(user__username__in=usernames, is_active=True).select_related(
            "user", "institution"
        )
    }
    lines = []
    with translation.override("zh-hans"):
        for role, username in DEMO_LOGINS:
            membership = memberships.get((username, role))
            if membership is None:
                continue
            user = membership.user
            password = DEMO_PASSWORD if user.check_password(DEMO_PASSWORD) else _("(changed)")
            lines.append(
                LoginLine(
                    role_label=str(Role(role).label),
                    username=username,
                    password=password,
                    full_name=user.full_name,
                    institution=membership.institution.name,
                )
            )
    return lines


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table aligned for terminals that show CJK characters double width."""
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell + " " * (w - display_width(cell)) for cell, w in zip(cells, widths, strict=True)
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)]).rstrip() + "\n"
