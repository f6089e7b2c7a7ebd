"""Listen for HL7 v2 messages over MLLP: ``manage.py hl7_listen --port 2575 --user his_lead``.

Every message is processed as the given account (its active membership decides which
institutions it may send for, through MSH-4), logged, and answered with ACK or NAK.
Bind to the hospital network's interface only; MLLP itself carries no authentication.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yigongti.accounts.models import User
from yigongti.interop.hl7.mllp import Server


class Command(BaseCommand):
    help = "Accept HL7 v2 messages over MLLP and answer ACK/NAK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--user", required=True, help="Username the messages are processed as")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}.")
        server = Server((options["host"], options["port"]), user)
        host, port = server.server_address[0], server.server_address[1]
        self.stdout.write(f"Listening for MLLP on {host!s}:{port} as {user.username}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
