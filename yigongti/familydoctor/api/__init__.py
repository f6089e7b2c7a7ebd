"""Family doctors over JSON under /api/.

Teams and service packages (``/familydoctor/teams``, ``/familydoctor/packages``; the consortium
office writes them), contracts (``/familydoctor/contracts``: sign at the clinic, or apply online
as a resident; then ``confirm``, ``cancel``, ``terminate``, ``renew``, ``expire``; an illegal move
is a 409), the fulfilment worklist (``/familydoctor/tasks``, ``.../record``), home visits and home
beds, and the per-team statistics (``/familydoctor/stats``).

The package splits the endpoints by subject (``teams``, ``contracts``, ``care``); ``common`` holds
the router, the converters and the scoped look-ups, ``schemas`` the In/Out schemas.
"""

from __future__ import annotations

from . import care, contracts, teams
from .common import router

__all__ = ["care", "contracts", "router", "teams"]
