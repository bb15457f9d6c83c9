"""Fail when the committed files are not what the notebooks produce, or when the code has pyflakes errors.

Checks, in order, and reports every file that differs and every error found:
1. `nbdev-export` leaves `neurotic/` unchanged (notebooks and modules in sync);
2. `nbdev-clean` leaves `nbs/` unchanged (notebooks committed clean);
3. README.md matches `nbs/index.ipynb` (see tools/make_readme.py);
4. ruff's pyflakes rules (`F`: undefined names, unused imports and variables, ...) pass over
   `neurotic/`, `tests/` and `tools/` (see `static_check`);
5. no exported notebook cell is longer than 80 lines (see `long_exported_cells`).
"""
from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _snapshot(folder: Path, pattern: str) -> dict[str, str]:
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern)) if "__pycache__" not in p.parts
            and ".ipynb_checkpoints" not in p.parts}


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _run_and_compare(command: list[str], folder: Path, pattern: str, what: str) -> bool:
    before = _snapshot(folder, pattern)
    subprocess.run(command, cwd=ROOT, check=True)
    changed = _changed(before, _snapshot(folder, pattern))
    if changed:
        print(f"{what}: `{' '.join(command)}` changed {len(changed)} file(s):")
        for name in changed: print(f"  {name}")
    return not changed


STATIC_CHECK_PATHS = ("neurotic", "tests", "tools")
# Two pyflakes rules misread idioms of the generated package, so they are switched off there only:
# - F403 ("star import used") in `__init__` modules, whose job is to re-export submodules with `from .x import *`;
# - F811 ("redefinition of unused name") in `neurotic/`, where fastcore's `@patch` adds methods to classes
#   from module-level functions named like the method: `forward` for several layers, a property and its setter.
STATIC_CHECK_FLAGS = ("--select", "F", "--per-file-ignores", "__init__.py:F403",
                      "--per-file-ignores", "neurotic/**/*.py:F811", "--output-format", "concise")


def static_check() -> bool:
    "Run ruff's pyflakes rules over the code; True when it reports nothing."
    command = [sys.executable, "-m", "ruff", "check", *STATIC_CHECK_FLAGS, *STATIC_CHECK_PATHS]
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode:
        print(f"Static check failed: `{shlex.join(['ruff', 'check', *STATIC_CHECK_FLAGS, *STATIC_CHECK_PATHS])}`")
    return done.returncode == 0


MAX_EXPORTED_CELL_LINES = 80  # an exported unit is read in one screen, followed by its checks


def long_exported_cells() -> list[str]:
    "The exported notebook cells longer than `MAX_EXPORTED_CELL_LINES`, as 'notebook cell N: L lines'."
    found = []
    for notebook in sorted((ROOT / "nbs").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells):
            lines = "".join(cell["source"]).splitlines()
            if cell["cell_type"] == "code" and lines and lines[0].startswith("#| export") \
                    and len(lines) > MAX_EXPORTED_CELL_LINES:
                found.append(f"{notebook.name} cell {number}: {len(lines)} lines")
    if found:
        print(f"Exported cells longer than {MAX_EXPORTED_CELL_LINES} lines (split them):")
        for line in found: print(f"  {line}")
    return found


def main() -> int:
    ok = _run_and_compare([str(BIN / "nbdev-export")], ROOT / "neurotic", "*.py",
                          "Modules out of sync with the notebooks")
    ok &= _run_and_compare([str(BIN / "nbdev-clean")], ROOT / "nbs", "*.ipynb",
                           "Notebooks not committed clean")
    readme = subprocess.run([sys.executable, str(ROOT / "tools" / "make_readme.py"), "--check"], cwd=ROOT)
    ok &= readme.returncode == 0
    ok &= static_check()
    ok &= not long_exported_cells()
    if ok: print("check_sync: modules, notebooks and README are in sync; ruff finds no pyflakes errors; "
                 f"no exported cell is over {MAX_EXPORTED_CELL_LINES} lines")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
