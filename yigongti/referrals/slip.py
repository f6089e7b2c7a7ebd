"""The printable referral slip (双向转诊单): stub, referral-out and return, as one PDF.

WeasyPrint renders the HTML template; the Noto CJK fonts are installed on the server, so the
slip prints the same on any county PC.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from yigongti.core import idnumbers

from .models import Referral


def slip_context(referral: Referral) -> dict[str, object]:
    patient = referral.patient
    return {
        "r": referral,
        "patient": patient,
        "age": patient.age_on(timezone.localdate()) if patient.birth_date else None,
        "id_masked": idnumbers.mask(patient.id_number) if patient.id_number else "",
        "printed_at": timezone.localtime(),
    }


def slip_html(referral: Referral) -> str:
    return render_to_string("referrals/slip.html", slip_context(referral))


def slip_pdf(referral: Referral) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=slip_html(referral)).write_pdf())
