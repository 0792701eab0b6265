"""The platform's labs: which folders of LMS_LABS_DIR hold one, and their valid specs.

Every reader of lab.yaml goes through here (the course import's checks, lab starts,
grading, flags, the lab panel and the centres' reports), so a lab is parsed in one
place and cached in one place. The cache lives on the app (``app.extensions``), keyed by
the lab file's modification time and size: an edited lab.yaml is read again at once, and
a cached spec is also read again after SPEC_CACHE_SECONDS, because its content hash
covers the build folders too (an edited Dockerfile means a new image).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import current_app

from lms.content.lab_model import LAB_FILE, SLUG_RE, LabSpec, LabSpecError
from lms.content.lab_parser import load_lab

log = logging.getLogger(__name__)

SPEC_CACHE_SECONDS = 30.0


def labs_dir() -> Path:
    return Path(current_app.config["LMS_LABS_DIR"])


def lab_slugs(folder: str | Path | None = None) -> set[str]:
    """The names of the folders holding a lab.yaml, valid or not."""
    folder = Path(folder or labs_dir())
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if (p / LAB_FILE).is_file()}


def get_spec(slug: str) -> LabSpec | None:
    """The valid lab ``slug`` of LMS_LABS_DIR, or None (unknown or invalid)."""
    if not slug or not SLUG_RE.match(slug):
        return None
    folder = labs_dir() / slug
    stamp = _file_stamp(folder / LAB_FILE)
    if stamp is None:
        return None  # not cached: unknown names must not grow the cache
    cache = current_app.extensions.setdefault("lab_specs", {})
    hit = cache.get(slug)
    if hit and hit[1] == stamp and time.monotonic() - hit[0] < SPEC_CACHE_SECONDS:
        return hit[2]
    try:
        spec = load_lab(folder)
    except LabSpecError as exc:
        log.warning("lab %s is invalid and cannot be started:\n%s", slug, exc)
        spec = None
    cache[slug] = (time.monotonic(), stamp, spec)
    return spec


def task_totals(slugs: set[str]) -> dict[str, int]:
    """Number of tasks of each lab (0 for a lab that is missing or invalid)."""
    totals = {}
    for slug in slugs:
        spec = get_spec(slug)
        totals[slug] = len(spec.tasks) if spec else 0
    return totals


def clear_spec_cache() -> None:
    current_app.extensions.pop("lab_specs", None)


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
