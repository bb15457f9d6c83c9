"""Fail when the committed files are not what the notebooks produce.

Checks, in order, and reports every file that differs:
1. `nbdev-export` leaves `neurotic/` unchanged (notebooks and modules in sync);
2. `nbdev-clean` leaves `nbs/` unchanged (notebooks committed clean);
3. README.md matches `nbs/index.ipynb` (see tools/make_readme.py).
"""
from __future__ import annotations

import hashlib
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


def main() -> int:
    ok = _run_and_compare([str(BIN / "nbdev-export")], ROOT / "neurotic", "*.py",
                          "Modules out of sync with the notebooks")
    ok &= _run_and_compare([str(BIN / "nbdev-clean")], ROOT / "nbs", "*.ipynb",
                           "Notebooks not committed clean")
    readme = subprocess.run([sys.executable, str(ROOT / "tools" / "make_readme.py"), "--check"], cwd=ROOT)
    ok &= readme.returncode == 0
    if ok: print("check_sync: modules, notebooks and README are in sync")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
