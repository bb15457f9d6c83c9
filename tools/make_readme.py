"""Write README.md from nbs/index.ipynb without Quarto.

`nbdev-readme` renders the index notebook with Quarto, which these machines cannot
install. This does the same job offline: nbdev's notebook processors (directives
stripped, `#| hide` cells dropped), then nbconvert's Markdown exporter.

    python tools/make_readme.py            # rewrite README.md
    python tools/make_readme.py --check    # exit 1 if README.md is out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "nbs" / "index.ipynb"
README = ROOT / "README.md"
BANNER = "<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n"


def _visible(cell) -> bool:
    "Cells that belong on the page: not hidden, not export-only."
    lines = cell.source.splitlines()
    directives = {l.strip().replace(" ", "") for l in lines if l.strip().startswith("#|")}
    return not any(d in directives for d in ("#|hide", "#|export", "#|exporti", "#|include:false"))


def _strip_directives(source: str) -> str:
    return "\n".join(l for l in source.splitlines() if not l.strip().startswith("#|")).strip("\n")


def render() -> str:
    "The README text for the current index notebook."
    nb = nbformat.read(INDEX, as_version=4)
    nb.cells = [c for c in nb.cells if _visible(c)]
    for cell in nb.cells:
        cell.source = _strip_directives(cell.source)
    body, _ = MarkdownExporter().from_notebook_node(nb)
    return BANNER + body.strip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != text:
            print("README.md is out of date with nbs/index.ipynb: run `python tools/make_readme.py`.")
            return 1
        return 0
    tmp = README.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(README)
    return 0


if __name__ == "__main__":
    sys.exit(main())
