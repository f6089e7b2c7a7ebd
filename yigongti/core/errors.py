"""Domain errors. Services raise them; the API and the views turn them into 4xx answers.

Every message is a lazy translation so the same error reads in Chinese or English, whichever
language the request asked for.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause. Never a 500."""

    status = 400
    code = "bad_request"

    def __init__(self, message: Any, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": str(self.message), "field": self.field}


class InvalidInput(DomainError):
    """A value that breaks a rule (bad ID number, end before start, ...)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    """The row does not exist, or the user may not know that it does."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The user is known but their role may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The row exists but its state forbids the change (illegal transition, duplicate)."""

    status = 409
    code = "conflict"


class Throttled(DomainError):
    """Too many attempts; the message says how long to wait."""

    status = 429
    code = "throttled"
