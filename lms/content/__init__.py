"""The course and lab formats: the one "problem at a file and line" type (``issues``), what a
valid lab is (``lab_model``), its parser (``lab_parser``) and the platform's lab library
(``lab_library``: loading and caching lab specs). Below every domain: catalog, labs and the
reports all read labs through it.
"""

from lms.content.issues import (
    ContentError,
    ContentIssue,
    display_path,
    key_lines,
    yaml_error_issue,
)

__all__ = ["ContentError", "ContentIssue", "display_path", "key_lines", "yaml_error_issue"]
