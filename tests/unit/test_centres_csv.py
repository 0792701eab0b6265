"""CSV reading and writing for centres: spreadsheets in, spreadsheets out."""

import csv
import io

import pytest

from lms.centres.csv_files import (
    MAX_ROWS,
    CsvFileError,
    decode_upload,
    neutralise,
    read_rows,
    write_csv,
)


@pytest.mark.parametrize(
    "cell", ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tcmd", "\r=x", '=HYPERLINK("http://evil")']
)
def test_formula_like_text_is_neutralised(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Ana", "a=b", "", " =not at start", "José Núñez", "100 %"])
def test_ordinary_text_is_unchanged(cell):
    assert neutralise(cell) == cell


def test_numbers_and_empties_are_left_as_values():
    assert neutralise(-5) == -5
    assert neutralise(0.75) == 0.75
    assert neutralise(None) == ""
    assert neutralise(True) == "yes"


def test_written_csv_has_a_bom_crlf_quotes_and_no_formulas():
    text = write_csv(["name", "note"], [("Núñez, José", 'say "hi"'), ("=cmd|' /C calc'!A0", "-1")])
    assert text.startswith("\ufeff")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["Núñez, José", 'say "hi"']
    assert rows[2] == ["'=cmd|' /C calc'!A0", "'-1"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_header_is_neutralised_too():
    text = write_csv(["=evil"], [])
    assert "'=evil" in text


def _rows(text: str, encoding="utf-8"):
    return read_rows(text.encode(encoding))


def test_reads_a_plain_file():
    rows = _rows("email,name,cohort\nana@example.org,Ana Silva,A1\n")
    assert [(r.line, r.values) for r in rows] == [
        (2, {"email": "ana@example.org", "name": "Ana Silva", "cohort": "A1"})
    ]


def test_reads_a_bom_quotes_commas_and_non_ascii():
    text = (
        '\ufeffEmail,Name\r\n"jose@example.org","Núñez, José ""Pepe"""\r\nli@example.org,李伟\r\n'
    )
    rows = _rows(text)
    assert rows[0].values == {"email": "jose@example.org", "name": 'Núñez, José "Pepe"'}
    assert rows[1].values["name"] == "李伟"


def test_semicolon_files_from_continental_excel():
    rows = _rows("email;name\nana@example.org;Silva, Ana\n")
    assert rows[0].values == {"email": "ana@example.org", "name": "Silva, Ana"}


def test_tab_separated_utf16_from_excel_unicode_text():
    data = "email\tname\nzoe@example.org\tZoë Müller\n".encode("utf-16")
    assert read_rows(data)[0].values["name"] == "Zoë Müller"


def test_line_numbers_follow_multi_line_records():
    rows = _rows('email,name\na@example.org,"two\nlines"\n\nb@example.org,B\n')
    assert [r.line for r in rows] == [2, 5]
    assert rows[0].values["name"] == "two\nlines"


def test_header_aliases_and_first_and_last_names():
    rows = _rows("E-mail Address,First name,Last name,Group\nx@example.org,Mai,Nguyễn,B1\n")
    assert rows[0].values["email"] == "x@example.org"
    assert rows[0].values["name"] == "Mai Nguyễn"
    assert rows[0].values["cohort"] == "B1"


def test_an_unquoted_comma_is_a_row_problem_not_a_crash():
    rows = _rows("email,name\nana@example.org,Silva, Ana\n")
    assert rows[0].problems and "double quotes" in rows[0].problems[0]


def test_short_rows_have_empty_values_missing():
    rows = _rows("email,name,cohort\nana@example.org\n")
    assert rows[0].values == {"email": "ana@example.org"}


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"name,cohort\nAna,A1\n", "email"),
        ("email,name\nana@example.org,Jos\xe9\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_unusable_files_raise_a_clear_error(data, message):
    with pytest.raises(CsvFileError, match=message):
        read_rows(data)


def test_too_many_rows():
    data = ("email\n" + "x@example.org\n" * (MAX_ROWS + 1)).encode()
    with pytest.raises(CsvFileError, match="at most"):
        read_rows(data)


def test_decode_accepts_utf8_with_and_without_bom():
    assert decode_upload("é".encode()) == "é"
    assert decode_upload("\ufeffé".encode()) == "é"


def test_a_round_trip_keeps_every_character():
    names = ["Zoë Müller", "Nguyễn Thị Mai", "陈晓明", 'O\'Brien, "Bob"', "Ola\nNordmann"]
    text = write_csv(["email", "name"], [(f"u{i}@example.org", n) for i, n in enumerate(names)])
    rows = read_rows(text.encode("utf-8"))
    assert [r.values["name"] for r in rows] == names
