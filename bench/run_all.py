"""Run every benchmark of bench/ (each ``*.py`` but this one and helpers named ``_*``,
such as ``_bare_app.py``, the baseline app of ``module_page.py``), one after the other.

    .venv/bin/python bench/run_all.py [NAME ...]     # e.g. lab_start

A benchmark is a script that prints its figures; a failing one is reported and
the others still run. Exit status 1 when any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    if names:
        scripts = [p for p in scripts if p.stem in names]
    failed = []
    for script in scripts:
        print(f"=== {script.stem} ===", flush=True)
        began = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        print(
            f"=== {script.stem}: {'ok' if result.returncode == 0 else 'FAILED'} "
            f"in {time.monotonic() - began:.0f} s ===\n",
            flush=True,
        )
        if result.returncode:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
