"""`pool:` in lab.yaml: warm sessions kept ready (lms.labs.pools); 0 unless given."""

from __future__ import annotations

import pytest

from lms.content.lab_parser import load_lab
from tests.unit.test_lab_spec import errors_of, find, make_lab


def test_pool_defaults_to_none_and_is_read(tmp_path):
    assert load_lab(make_lab(tmp_path, "title: Plain\n", slug="plain")).pool == 0
    assert load_lab(make_lab(tmp_path, "title: Warm\npool: 12\n", slug="warm")).pool == 12


@pytest.mark.parametrize("written", ["-1", "201", "lots", "2.5", "true"])
def test_a_bad_pool_is_refused_with_its_line(tmp_path, written):
    folder = make_lab(tmp_path, f"title: Warm\npool: {written}\n")
    issue = find(errors_of(folder), "pool:")
    assert "whole number from 0 to 200" in issue.message and issue.line == 2
