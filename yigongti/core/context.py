"""Per-request facts (request id, client address) that the audit trail records.

A context variable, not a thread-local, so it is right under both WSGI threads and ASGI tasks.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    request_id: str = ""
    ip: str | None = None


_EMPTY = RequestInfo()
_current: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar(
    "ygt_request",
    default=_EMPTY,
)


def current_request() -> RequestInfo:
    return _current.get()


def set_current_request(info: RequestInfo) -> contextvars.Token[RequestInfo]:
    return _current.set(info)


def reset_current_request(token: contextvars.Token[RequestInfo]) -> None:
    _current.reset(token)
