"""MLLP (Minimal Lower Layer Protocol): each message framed as <VT> message <FS><CR>.

A threading TCP server; each connection may carry many messages, each answered in its frame.
A frame larger than ``MAX_FRAME`` closes the connection (a sender that never sends <FS>).
"""

from __future__ import annotations

import logging
import socketserver
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import translation

from ..choices import Channel
from .intake import receive

log = logging.getLogger(__name__)
START, END = b"\x0b", b"\x1c\r"
MAX_FRAME = 4 * 1024 * 1024


def frame(payload: bytes) -> bytes:
    return START + payload + END


class Handler(socketserver.BaseRequestHandler):
    server: Server

    def handle(self) -> None:
        buffer = b""
        self.request.settimeout(self.server.idle_timeout)
        try:
            while True:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while END in buffer:
                    raw, buffer = buffer.split(END, 1)
                    start = raw.find(START)
                    payload = raw[start + 1 :] if start >= 0 else raw
                    self.request.sendall(frame(self._one(payload)))
                if len(buffer) > MAX_FRAME:
                    log.warning("MLLP: frame from %s over %s bytes; closing", self.client_address, MAX_FRAME)
                    return
        except TimeoutError:
            return
        finally:
            connection.close()

    def _one(self, payload: bytes) -> bytes:
        close_old_connections()
        with translation.override(settings.LANGUAGE_CODE):
            return receive(payload, channel=Channel.MLLP, user=self.server.user).payload


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], user: Any, idle_timeout: float = 300.0) -> None:
        self.user = user
        self.idle_timeout = idle_timeout
        super().__init__(address, Handler)
