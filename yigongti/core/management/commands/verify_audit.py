"""``manage.py verify_audit``: walk the audit hash chain.

Prints the rows checked and the head hash (write it down elsewhere: removal of the newest rows
can only be seen by comparing it). Exits 0 when the chain is intact; otherwise prints
``first problem at row N: changed|removed|inserted`` and exits 1. The lines are kept in English
so that monitoring scripts can match them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yigongti.core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit 1 at the first changed, removed or inserted row."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        self.stdout.write(f"rows checked: {report.rows}")
        self.stdout.write(f"head: row {report.head_seq} hash {report.head_hash}")
        if report.problem is not None:
            p = report.problem
            raise CommandError(f"first problem at row {p.seq}: {p.kind} ({p.detail})")
        self.stdout.write(self.style.SUCCESS("audit chain intact"))
