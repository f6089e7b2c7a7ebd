"""Family doctors over JSON under /api/."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["familydoctor"])
