"""Interoperability over HTTP under /api/: HL7 v2 messages (HL7 over HTTP).

``POST /api/interop/hl7`` takes one raw ER7 message (``x-application/hl7-v2+er7`` or
``text/plain``; UTF-8 or GBK/GB 18030 as MSH-18 says) and answers the ACK or NAK in the same
character set, with status 200 either way (the MSA segment carries the verdict, as in HL7 over
HTTP). Authentication: an API token or a session, of an account that may write.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router

from yigongti.core.api import BODY_ERRORS, authorized
from yigongti.core.errors import DomainError

from .choices import Channel
from .hl7.intake import receive

router = Router(tags=["interop"])

ER7 = "x-application/hl7-v2+er7"
MAX_MESSAGE = 4 * 1024 * 1024


@router.post(
    "/interop/hl7",
    auth=authorized(writes=True),
    response={**BODY_ERRORS},
    summary="Receive one HL7 v2 message (ADT^A01/A04/A08/A40, ORU^R01); answers ACK or NAK",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {ER7: {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}},
        },
        "responses": {
            "200": {
                "description": "The ACK (MSA-1 AA) or NAK (AE/AR, with ERR)",
                "content": {ER7: {"schema": {"type": "string"}}},
            }
        },
    },
)
def hl7_receive(request: HttpRequest) -> HttpResponse:
    raw = request.body[:MAX_MESSAGE]
    if not raw.strip(b"\x0b\x1c\r\n \t"):
        raise DomainError(_("Send one HL7 v2 message as the request body."), field="body")
    answer = receive(raw, channel=Channel.HTTP, user=request.user)
    charset = {"gb18030": "gb18030", "gbk": "gbk"}.get(answer.log.encoding, "utf-8")
    response = HttpResponse(answer.payload, content_type=f"{ER7}; charset={charset}")
    response["X-HL7-Ack"] = str(answer.code)
    return response
