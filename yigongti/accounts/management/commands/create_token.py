"""``manage.py create_token --user USERNAME [--name NAME]``: a bearer token for a system.

The token is printed once, on the last line, so a script can take it with ``tail -n 1``; only its
SHA-256 is stored. The user must be active and hold an active membership, which the token acts in.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yigongti.accounts.models import User
from yigongti.accounts.services import token_create
from yigongti.core.access import active_membership


class Command(BaseCommand):
    help = "Create an API token for a user and print it on the last line (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username the token acts for")
        parser.add_argument("--name", default="", help="what the token is for, e.g. the calling system")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"].strip()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; a token would not authenticate")
        membership = active_membership(user)
        if membership is None:
            raise CommandError(f"user {username!r} has no active membership; a token could do nothing")
        token, raw = token_create(actor=None, user=user, name=options["name"])
        self.stdout.write(
            f"Token {token.prefix}… for {user.username} acting as {membership.role} at "
            f"{membership.institution.code}. Store it now: it cannot be shown again."
        )
        self.stdout.write(raw)
