"""Reading an HL7 v2 message: its character set, its segments (parsed with hl7apy), and the
errors that name the segment and field at fault."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_segment

VERSION = "2.5"
SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
#: MSH-18 values (HL7 table 0211 and what Chinese HIS send) → Python codec.
CHARSETS = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GBK": "gbk",
    "GB2312": "gbk",
    "GB 2312": "gbk",
    "ASCII": "ascii",
    "": "",
}


class Hl7Error(Exception):
    """A refusal: ``code`` AE (error) or AR (reject), the HL7 error code of table 0357, where
    (segment id, its position among segments of that id, field number) and a translated text."""

    def __init__(
        self,
        text: str,
        *,
        ack: str = "AE",
        hl7_code: str = "207",
        segment: str = "",
        position: int = 1,
        field_no: int = 0,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.message: Message | None = None  # the header, when it could be read
        self.ack = ack
        self.hl7_code = hl7_code
        self.segment = segment
        self.position = position
        self.field_no = field_no


HL7_CODE_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


def decode(raw: bytes) -> tuple[str, str]:
    """The message as text and the codec used: MSH-18 decides; without it UTF-8, else GB 18030."""
    head = raw.split(b"\r", 1)[0].split(b"\n", 1)[0]
    fields = head.split(b"|")
    declared = fields[17].decode("ascii", "replace").strip().upper() if len(fields) > 17 else ""
    declared = declared.split("^")[0]
    codec = CHARSETS.get(declared)
    if codec is None:
        raise Hl7Error(
            _("The character set %(cs)s in MSH-18 is not supported (use UNICODE UTF-8 or GB 18030-2000).")
            % {"cs": declared[:30]},
            ack="AR",
            hl7_code="103",
            segment="MSH",
            field_no=18,
        )
    if codec:
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            raise Hl7Error(
                _("The message is not valid %(cs)s text, as MSH-18 declares.") % {"cs": declared},
                ack="AR",
                hl7_code="102",
                segment="MSH",
                field_no=18,
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="strict"), "gb18030"


@dataclass
class Message:
    """A parsed message: MSH fields we answer with, and the segments in order (hl7apy objects)."""

    text: str
    encoding: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str  # e.g. ADT^A04
    trigger: str
    control_id: str
    processing_id: str
    version: str
    charset: str
    segments: list[tuple[str, int, Any]] = field(default_factory=list)  # (id, position, hl7apy segment)

    def all(self, name: str) -> list[tuple[int, Any]]:
        return [(pos, seg) for sid, pos, seg in self.segments if sid == name]

    def one(self, name: str) -> tuple[int, Any]:
        found = self.all(name)
        if not found:
            raise Hl7Error(_("The segment %(seg)s is missing.") % {"seg": name}, hl7_code="100", segment=name)
        return found[0]


def _msh(line: str) -> list[str]:
    """MSH split on '|': item k-1 is MSH-k (MSH-1 is the separator itself, MSH-2 the encoding)."""
    if not line.startswith("MSH|") or len(line) < 8:
        raise Hl7Error(
            _("The message does not start with an MSH segment."), ack="AR", hl7_code="100", segment="MSH"
        )
    return line.split("|")


def parse(raw: bytes) -> Message:
    """Split, check every segment's shape, and parse it with hl7apy; a broken segment is named."""
    text, codec = decode(raw)
    lines = [s for s in re.split(r"\r\n|\r|\n", text.strip("\x0b\x1c\r\n ")) if s.strip()]
    if not lines:
        raise Hl7Error(_("The message is empty."), ack="AR", hl7_code="100", segment="MSH")
    head = _msh(lines[0])
    if len(head) < 12:
        raise Hl7Error(
            _("The MSH segment is incomplete (it needs at least 12 fields)."),
            ack="AR",
            hl7_code="101",
            segment="MSH",
        )

    def f(k: int) -> str:
        return head[k - 1] if k - 1 < len(head) else ""

    msg_type = f(9)
    parts = msg_type.split("^")
    message = Message(
        text=text,
        encoding=codec,
        sending_application=f(3),
        sending_facility=f(4).split("^")[0],
        receiving_application=f(5),
        receiving_facility=f(6),
        message_type="^".join(parts[:2]),
        trigger=parts[1] if len(parts) > 1 else "",
        control_id=f(10),
        processing_id=f(11),
        version=f(12).split("^")[0],
        charset=f(18),
    )
    if not message.control_id:
        raise Hl7Error(
            _("MSH-10 (message control id) is empty."), ack="AR", hl7_code="101", segment="MSH", field_no=10
        )
    try:
        if "\x00" in text:
            raise Hl7Error(_("The message contains a NUL character."), ack="AR", hl7_code="102")
        _segments(message, lines)
    except Hl7Error as exc:
        exc.message = message
        raise
    return message


def _segments(message: Message, lines: list[str]) -> None:
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        sid = line[:3]
        if not SEGMENT_ID.match(sid) or (len(line) > 3 and line[3] != "|"):
            raise Hl7Error(
                _("Segment %(n)s (%(text)s) is broken: a segment starts with a three-letter name and '|'.")
                % {"n": number, "text": line[:20]},
                hl7_code="100",
                segment=sid if SEGMENT_ID.match(sid) else line[:3],
                position=number,
            )
        counts[sid] = counts.get(sid, 0) + 1
        try:
            segment = parse_segment(line, version=VERSION) if not sid.startswith("Z") else None
        except HL7apyException as exc:
            raise Hl7Error(
                _("Segment %(n)s (%(seg)s) cannot be read: %(reason)s")
                % {"n": number, "seg": sid, "reason": str(exc)[:200]},
                hl7_code="100",
                segment=sid,
                position=counts[sid],
            ) from None
        message.segments.append((sid, counts[sid], segment))


def value(segment: Any, name: str) -> str:
    """A field's text (first repetition), '' when absent."""
    try:
        fields = getattr(segment, name)
    except (HL7apyException, AttributeError, IndexError):
        return ""
    try:
        first = fields[0] if len(fields) else None
    except TypeError:
        first = fields
    return (first.value if first is not None else "") or ""


def component(segment: Any, name: str, index: int, repetition: int = 0) -> str:
    text = repetitions(segment, name)
    if repetition >= len(text):
        return ""
    parts = text[repetition].split("^")
    return parts[index - 1] if index - 1 < len(parts) else ""


def repetitions(segment: Any, name: str) -> list[str]:
    try:
        fields = getattr(segment, name)
    except (HL7apyException, AttributeError, IndexError):
        return []
    return [r.value or "" for r in fields]


def hl7_date(text: str, *, segment: str, position: int, field_no: int) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise Hl7Error(
            _("%(seg)s-%(f)s is not a date (YYYYMMDD): %(v)s")
            % {"seg": segment, "f": field_no, "v": text[:20]},
            hl7_code="102",
            segment=segment,
            position=position,
            field_no=field_no,
        ) from None


def hl7_instant(text: str, *, segment: str, position: int, field_no: int) -> dt.datetime | None:
    if not text:
        return None
    digits = re.match(r"^(\d{8})(\d{4})?(\d{2})?", text)
    if not digits:
        raise Hl7Error(
            _("%(seg)s-%(f)s is not a time (YYYYMMDDHHMM[SS]): %(v)s")
            % {"seg": segment, "f": field_no, "v": text[:20]},
            hl7_code="102",
            segment=segment,
            position=position,
            field_no=field_no,
        )
    stamp = digits.group(1) + (digits.group(2) or "0000") + (digits.group(3) or "00")
    try:
        naive = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S")  # noqa: DTZ007 - local time of the sender
    except ValueError:
        raise Hl7Error(
            _("%(seg)s-%(f)s is not a time (YYYYMMDDHHMM[SS]): %(v)s")
            % {"seg": segment, "f": field_no, "v": text[:20]},
            hl7_code="102",
            segment=segment,
            position=position,
            field_no=field_no,
        ) from None
    from django.utils import timezone

    return timezone.make_aware(naive)
