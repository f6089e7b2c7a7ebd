"""ACK and NAK answers (HL7 v2.5 ACK: MSH, MSA, and ERR on a refusal), in the sender's charset.

Texts are escaped with the HL7 escape sequences so that a reason quoting '|' or '^' cannot
break the answer's structure.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from .message import HL7_CODE_TEXT, Hl7Error, Message

ESCAPES = (
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
    ("\r", " "),
    ("\n", " "),
)


def escape(text: str) -> str:
    for raw, sequence in ESCAPES:
        text = text.replace(raw, sequence)
    return text


def build(
    message: Message | None, code: str, text: str = "", error: Hl7Error | None = None, *, charset: str = ""
) -> str:
    """The ACK for ``message`` (None when even its MSH could not be read)."""
    now = timezone.localtime().strftime("%Y%m%d%H%M%S")
    trigger = message.trigger if message else ""
    charset = message.charset if message else charset
    header = [
        "MSH",
        "^~\\&",
        "YIGONGTI",
        "YIGONGTI",
        escape(message.sending_application) if message else "",
        escape(message.sending_facility) if message else "",
        now,
        "",
        f"ACK^{trigger}^ACK" if trigger else "ACK",
        uuid.uuid4().hex[:20],
        message.processing_id if message and message.processing_id else "P",
        "2.5",
        "",
        "",
        "",
        "",
        "",
        charset,
    ]
    segments = [
        "|".join(header).rstrip("|"),
        f"MSA|{code}|{escape(message.control_id) if message else ''}|{escape(text)[:80]}",
    ]
    if error is not None:
        label = HL7_CODE_TEXT.get(error.hl7_code, "")
        location = ""
        if error.segment:
            location = f"{escape(error.segment)}^{error.position}" + (
                f"^{error.field_no}" if error.field_no else ""
            )
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    location,
                    f"{error.hl7_code}^{label}^HL70357",
                    "E",
                    "",
                    "",
                    "",
                    escape(error.text),
                ]
            )
        )
    return "\r".join(segments) + "\r"
