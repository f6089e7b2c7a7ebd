"""One entry point for every HL7 v2 message, whatever the channel: parse, authorise, run the
handler in one transaction, log, and answer ACK (AA) or NAK (AE/AR with ERR naming the segment
and field). The answer uses the message's own character set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from yigongti.core.access import Scope, scope_for
from yigongti.core.errors import DomainError
from yigongti.institutions.models import Institution

from ..choices import AckCode
from ..models import Hl7Message
from ..services import hl7_message_record, lab_results_store
from . import ack
from .handlers import HANDLERS
from .message import Hl7Error, Message, parse

log = logging.getLogger(__name__)
DOMAIN_HL7_CODE = {"not_found": "204", "conflict": "205", "forbidden": "207", "invalid": "102"}
#: A service's field name → the segment and field it came from.
FIELD_OF = {
    "name": ("PID", 5),
    "birth_date": ("PID", 7),
    "sex": ("PID", 8),
    "id_number": ("PID", 3),
    "local_number": ("PID", 3),
    "phone": ("PID", 13),
    "address": ("PID", 11),
    "residence_county_code": ("PID", 11),
    "kind": ("PV1", 2),
    "started_at": ("PV1", 44),
    "admitted_on": ("PV1", 44),
    "total_cost": ("PV1", 47),
    "external_id": ("PV1", 19),
}


@dataclass
class Answer:
    code: str
    text: str  # the ACK message (text)
    payload: bytes  # encoded in the sender's character set
    log: Hl7Message


def _institution(scope: Scope, message: Message) -> Institution:
    code = message.sending_facility.strip()
    if not code:
        if scope.membership is None:
            raise Hl7Error(
                _("MSH-4 (sending facility) is empty."), ack="AR", hl7_code="101", segment="MSH", field_no=4
            )
        return scope.membership.institution
    institution = Institution.objects.filter(code=code).first()
    if institution is None or not scope.sees_institution(institution.pk):
        raise Hl7Error(
            _("MSH-4: the sending facility %(code)s is not an institution your account may send for.")
            % {"code": code[:20]},
            ack="AR",
            hl7_code="204",
            segment="MSH",
            field_no=4,
        )
    return institution


def _authorise(scope: Scope, message: Message) -> None:
    if scope.membership is None or not scope.can_write:
        raise Hl7Error(_("This account may not send messages."), ack="AR", hl7_code="207")
    if message.message_type != "ADT^A40" and (scope.is_oversight or scope.self_patient_only):
        raise Hl7Error(
            _("Only staff of a member institution may send this message."), ack="AR", hl7_code="207"
        )


def _already(institution: Institution, message: Message) -> Hl7Message | None:
    return (
        Hl7Message.objects.filter(
            institution=institution,
            control_id=message.control_id,
            message_type=message.message_type,
            outcome=AckCode.ACCEPT,
        )
        .order_by("-received_at")
        .first()
    )


def receive(raw: bytes, *, channel: str, user: Any) -> Answer:
    message: Message | None = None
    institution: Institution | None = None
    codec = "utf-8"
    try:
        message = parse(raw)
        codec = message.encoding
        handler = HANDLERS.get(message.message_type)
        if handler is None:
            raise Hl7Error(
                _("The message type %(type)s is not supported (ADT^A01, A04, A08, A40 and ORU^R01 are).")
                % {"type": message.message_type[:20] or "-"},
                ack="AR",
                hl7_code="200",
                segment="MSH",
                field_no=9,
            )
        scope = scope_for(user)
        _authorise(scope, message)
        institution = _institution(scope, message)
        previous = _already(institution, message)
        with transaction.atomic():
            if previous is not None:
                text = _("Already processed (message %(id)s): %(result)s") % {
                    "id": previous.pk,
                    "result": previous.result,
                }
                results: list[Any] = []
            else:
                outcome = handler(user, scope, institution, message)
                text, results = outcome.text, outcome.results
            row = _log(user, channel, message, institution, AckCode.ACCEPT, "", text, raw, codec)
            if results:
                lab_results_store(actor=user, message=row, rows=results)
        return _answer(message, AckCode.ACCEPT, text, None, row, codec)
    except Hl7Error as exc:
        error = exc
        if message is None and exc.message is not None:
            message, codec = exc.message, exc.message.encoding
    except DomainError as exc:
        segment, field_no = FIELD_OF.get(exc.field or "", ("", 0))
        error = Hl7Error(
            str(exc.message),
            hl7_code=DOMAIN_HL7_CODE.get(exc.code, "207"),
            segment=segment,
            field_no=field_no,
        )
    except Exception:  # a bug: still answer the sender (AE) and keep the message for the office
        log.exception("HL7 message failed")
        error = Hl7Error(_("An unexpected error occurred; it has been logged."), hl7_code="207")
    row = _log(user, channel, message, institution, error.ack, error.text, "", raw, codec)
    return _answer(message, error.ack, error.text, error, row, codec)


def _log(
    user: Any,
    channel: str,
    message: Message | None,
    institution: Any,
    outcome: str,
    error: str,
    result: str,
    raw: bytes,
    codec: str,
) -> Hl7Message:
    text = message.text if message else raw.decode(codec, errors="replace")
    sender = f"{message.sending_application}@{message.sending_facility}" if message else ""
    return hl7_message_record(
        actor=user if getattr(user, "pk", None) else None,
        channel=channel,
        sender=sender,
        institution=institution,
        message_type=message.message_type if message else "",
        control_id=message.control_id if message else "",
        encoding=codec,
        outcome=outcome,
        error=error,
        result=result,
        raw=text,
    )


def _answer(
    message: Message | None, code: str, text: str, error: Hl7Error | None, row: Hl7Message, codec: str
) -> Answer:
    body = ack.build(message, code, text, error)
    return Answer(code, body, body.encode(codec or "utf-8", errors="replace"), row)
