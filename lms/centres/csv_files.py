"""Reading uploaded CSV files and writing CSV exports safely.

Uploads come from spreadsheets: a byte-order mark, semicolons instead of commas
(continental Excel), quoted fields with commas or line breaks inside, names in
any script. Exports go back into spreadsheets: a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel and
LibreOffice, so such text cells are prefixed with an apostrophe (OWASP's
advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask import Response

from lms.audit.services import record

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = (",", ";", "\t")
MAX_ROWS = 5000
BOM = "\ufeff"

# Header spellings people use for the columns we know, normalised (lower case, no spaces).
HEADER_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "emailaddress": "email",
    "e-mailaddress": "email",
    "mail": "email",
    "name": "name",
    "fullname": "name",
    "trainee": "name",
    "traineename": "name",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "cohort": "cohort",
    "group": "cohort",
    "class": "cohort",
}


class CsvFileError(ValueError):
    """The file as a whole cannot be read; the message says how to fix it."""


@dataclass
class CsvRow:
    line: int  # where the record starts in the file, 1-based, header is line 1
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)


def neutralise(value: object) -> object:
    """A cell value safe to open in a spreadsheet. Numbers pass unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a BOM (so Excel reads UTF-8), CRLF line ends, every cell neutralised."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]], about=None
) -> Response:
    """The CSV file as a download. An export of people's data says what it is ``about``
    (a centre, a cohort, a trainee, or a text): it is recorded in the audit log."""
    # HTTP headers are Latin-1: keep the name to ASCII letters, digits and - _ .
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "-" for c in filename)
    rows = list(rows)
    if about is not None:
        record("export.csv", about, {"file": safe, "rows": len(rows)})
    return Response(
        write_csv(header, rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Cache-Control": "no-store",
        },
    )


def decode_upload(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 with or without a BOM, or UTF-16 with a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise CsvFileError(
        "The file is not UTF-8 text. In your spreadsheet choose "
        "“Save as… CSV UTF-8 (comma delimited)” and upload it again."
    )


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _header_key(cell: str) -> str:
    key = "".join(cell.replace(BOM, "").split()).lower().replace("_", "")
    return HEADER_ALIASES.get(key, key)


def read_rows(data: bytes, required: Sequence[str] = ("email",)) -> list[CsvRow]:
    """Parse an upload into rows keyed by normalised column names.

    Raises CsvFileError for a file that cannot be used at all (wrong encoding,
    no header, a required column missing, too many rows). Problems of single
    rows (too many fields) are recorded on the row.
    """
    if not data or not data.strip():
        raise CsvFileError(
            "The file is empty. The first line names the columns: email, name, cohort."
        )
    text = decode_upload(data)
    first_line = text.lstrip(BOM).splitlines()[0] if text.strip() else ""
    reader = csv.reader(io.StringIO(text.lstrip(BOM), newline=""), delimiter=_delimiter(first_line))
    try:
        records = []
        start = 1
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvFileError(f"Line {reader.line_num}: the file is not valid CSV ({exc}).") from None
    records = [(line, r) for line, r in records if any(cell.strip() for cell in r)]
    if not records:
        raise CsvFileError("The file has no rows.")
    (_, header), body = records[0], records[1:]
    columns = [_header_key(cell) for cell in header]
    join_name_parts = "name" not in columns and "first_name" in columns
    missing = [c for c in required if c not in columns]
    if missing:
        raise CsvFileError(
            f"The first line must name the columns; “{', '.join(missing)}” is missing "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'}). "
            "Expected: email, name, cohort."
        )
    if len(body) > MAX_ROWS:
        raise CsvFileError(f"The file has {len(body)} rows; upload at most {MAX_ROWS} at a time.")
    rows = []
    for line, record in body:
        values = {}
        for column, cell in zip(columns, record, strict=False):
            if column and column not in values:
                values[column] = cell.strip()
        if join_name_parts:
            values["name"] = " ".join(
                v for v in (values.get("first_name", ""), values.get("last_name", "")) if v
            )
        row = CsvRow(line, values)
        extra = [cell for cell in record[len(columns) :] if cell.strip()]
        if extra:
            row.problems.append(
                f"{len(record)} fields where the header has {len(columns)}: "
                "put a value that contains a comma in double quotes"
            )
        rows.append(row)
    return rows
