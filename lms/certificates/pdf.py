"""The certificate as a PDF (fpdf2), with the QR code of its verification page."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fpdf import FPDF

from lms.certificates.models import Certificate

# A Unicode font when the machine has one (Debian's fonts-dejavu-core); otherwise the PDF
# core font, which knows Latin-1 only: other letters of a name print as "?".
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


def certificate_pdf(certificate: Certificate, verify_url: str) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate: {certificate.title}")
    pdf.set_author(certificate.issuer_name)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    text = _font(pdf)
    pdf.set_draw_color(40, 70, 120)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)

    def line(words: str, size: int, gap: float = 4) -> None:
        pdf.set_font(size=size)
        pdf.multi_cell(0, size * 0.5, text(words), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(30)
    kind = "programme" if certificate.kind == "programme" else "course"
    line("Certificate of completion", 30, 8)
    line("This certifies that", 14)
    line(certificate.recipient_name, 26, 6)
    line(f"has completed the {kind}", 14)
    line(certificate.title, 20, 8)
    issued = certificate.issued_at.strftime("%d %B %Y")
    line(f"on {issued}" + (f" at {certificate.centre_name}" if certificate.centre_name else ""), 13)
    line(f"Issued by {certificate.issuer_name}", 13, 2)
    if certificate.is_revoked:
        pdf.set_text_color(180, 0, 0)
        line("REVOKED: this certificate is no longer valid.", 16)
        pdf.set_text_color(0, 0, 0)

    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=6, border=2)
    qr.seek(0)
    pdf.image(qr, x=pdf.w - 62, y=pdf.h - 66, w=42, h=42)
    pdf.set_xy(20, pdf.h - 38)
    pdf.set_font(size=9)
    pdf.multi_cell(
        pdf.w - 90, 5, text(f"Certificate {certificate.id}\nVerify it at {verify_url}"), align="L"
    )
    return bytes(pdf.output())


def _font(pdf: FPDF):
    """Set the document font; returns how to make text printable in it."""
    for path in UNICODE_FONTS:
        if path.exists():
            pdf.add_font("certificate", fname=str(path))
            pdf.set_font("certificate")
            return lambda words: words
    pdf.set_font("helvetica")
    return lambda words: words.encode("latin-1", "replace").decode("latin-1")
