"""Build the documentation site, with every notebook's results, into `_docs/`.

The notebooks are committed without outputs, so the build runs them:

1. each notebook in nbs/ is executed as `nbdev-test` executes it (execnb's `CaptureShell`,
   the same cells skipped, two workers, in nbs/), then processed by nbdev for the docs
   (the processing of `nbdev-proc-nbs`: directives applied, `show_doc` signatures rendered)
   into `_proc/`, outputs included. A processed notebook records a digest of its source, the
   package and tools/docs_execute.py, and is executed again only when one of them changed;
2. with Quarto on the PATH, `nbdev-docs` renders the published site from `_proc/` (it keeps
   those notebooks, which are newer than their sources); without it, MkDocs with the
   Material theme builds the same pages offline (`mkdocs.yml`): one Markdown page per
   notebook with its outputs and plots, MathJax served from the site, a sidebar grouped as
   the notebook map, previous/next links and a search index.

A notebook that fails stops the build with its name and traceback.

    python tools/build_docs.py                       # Quarto's site if quarto is there, else offline
    python tools/build_docs.py --offline --out DIR   # always the offline site, into DIR
    python tools/build_docs.py --if-stale            # offline, unless DIR already holds this source's site
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import docs_execute  # noqa: E402  (tools/docs_execute.py: running and processing the notebooks)
import docs_pages  # noqa: E402  (tools/docs_pages.py: notebook -> Markdown page, links, navigation)

NBS, PROC = ROOT / "nbs", ROOT / "_proc"
STAMP = ".build-stamp"  # in the site folder: the digest of the sources it was built from
page_name, EXTERNAL, _link_rewriter = docs_pages.page_name, docs_pages.EXTERNAL, docs_pages.link_rewriter


def source_digest() -> str:
    "Digest of everything the offline site is built from: notebooks, package, config, this builder."
    sha = hashlib.sha256(docs_execute.package_digest().encode())
    inputs = [*sorted(NBS.glob("*.ipynb")), ROOT / "mkdocs.yml", *sorted((ROOT / "docs_assets").glob("*")),
              *[ROOT / "tools" / name for name in ("build_docs.py", "docs_execute.py", "docs_pages.py")]]
    for path in inputs: sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


def mathjax_script() -> Path:
    "MathJax 3's single-file TeX-to-SVG component, as the django-static-mathjax package ships it."
    import mathjax
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"


def write_pages(sources: list[Path], docs_dir: Path) -> list:
    "One Markdown page per processed notebook in `_proc/` (images beside it) and the site's assets; return MkDocs' nav."
    import nbformat
    from nbdev.config import get_config
    cfg = get_config()
    site_url = f"{cfg.get('doc_host', '')}{cfg.get('doc_baseurl', '')}".rstrip("/") + "/"
    pages = {nb.name: Path(page_name(nb)).with_suffix(".md").name for nb in sorted(NBS.glob("*.ipynb"))}
    rewrite = _link_rewriter(pages, str(cfg.get("git_url", "")).rstrip("/"), str(cfg.get("branch", "main")), site_url)
    entries = []
    for source in sources:
        nb = nbformat.read(PROC / source.name, as_version=4)
        page = pages[source.name]
        text, files = docs_pages.notebook_markdown(nb, Path(page).stem, rewrite)
        (docs_dir / page).write_text(text, encoding="utf-8")
        for name, content in files.items():
            (docs_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (docs_dir / name).write_bytes(content)
        entries.append((source.name, page, str(docs_pages.front_matter(nb).get("title") or source.stem)))
    assets = docs_dir / "assets"
    shutil.copytree(ROOT / "docs_assets", assets)
    (assets / "mathjax").mkdir()
    shutil.copy2(mathjax_script(), assets / "mathjax" / "tex-svg-full.js")
    return docs_pages.navigation(entries)


def notebooks(file_re: str = "") -> list[Path]:
    "The notebooks in nbs/ whose name matches `file_re`, in notebook order."
    return [nb for nb in sorted(NBS.glob("*.ipynb")) if re.search(file_re, nb.name)]


def execute(sources: list[Path], n_workers: int, force: bool) -> None:
    "Bring the executed notebooks in `_proc/` up to date, or raise `NotebookFailed` naming those that failed."
    failed = docs_execute.run_notebooks(sources, n_workers, force)
    if failed: raise NotebookFailed(failed)


def build_offline(out_dir: Path, n_workers: int = 2, file_re: str = "", force: bool = False) -> int:
    "Execute what is stale, then build the MkDocs site into `out_dir`; return the number of pages."
    import logging
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    digest, sources = source_digest(), notebooks(file_re)  # the digest of what this build starts from
    execute(sources, n_workers, force)
    logging.basicConfig(level=logging.WARNING, format="mkdocs: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        nav = write_pages(sources, Path(tmp))
        build(load_config(config_file=str(ROOT / "mkdocs.yml"), docs_dir=tmp, site_dir=str(out_dir), nav=nav))
    if not file_re: (out_dir / STAMP).write_text(digest + "\n")  # only a site of every notebook counts as built
    return len(sources)


class NotebookFailed(Exception):
    "Notebooks that raised while executed for the docs."


def is_up_to_date(out_dir: Path) -> bool:
    "Whether `out_dir` holds the complete offline site of the sources as they are now."
    stamp = out_dir / STAMP
    return stamp.is_file() and stamp.read_text().strip() == source_digest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="build the offline site even when quarto is installed")
    parser.add_argument("--if-stale", action="store_true", help="offline, and only if OUT does not hold this source's site")
    parser.add_argument("--out", type=Path, default=ROOT / "_docs", help="folder for the offline site (default _docs/)")
    parser.add_argument("--file-re", default="", help="only notebooks whose name matches this regex (default: all)")
    parser.add_argument("--n-workers", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--force", action="store_true", help="execute every notebook, even those whose results are up to date")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # nbdev finds its settings in pyproject.toml from the working directory
    shared_corpora = ROOT.parent / "shared" / "nltk_data"  # beside the checkout on the project's machines, as in the Makefile
    if "NLTK_DATA" not in os.environ and shared_corpora.is_dir():
        os.environ["NLTK_DATA"] = str(shared_corpora)
    out = args.out.resolve()
    if args.if_stale and is_up_to_date(out):
        print(f"{args.out} is up to date"); return 0
    quarto = shutil.which("quarto") and not (args.offline or args.if_stale)
    if not quarto and not (args.offline or args.if_stale):
        print("quarto is not on the PATH: building the offline MkDocs site instead of the Quarto one.", flush=True)
    try:
        if quarto:
            execute(notebooks(args.file_re), args.n_workers, args.force)
            PROC.touch()  # newer than pyproject.toml, or nbdev-docs would discard the executed notebooks
            return subprocess.run([str(Path(sys.executable).parent / "nbdev-docs"), "--n-workers", str(args.n_workers)],
                                  cwd=ROOT).returncode
        count = build_offline(out, args.n_workers, args.file_re, args.force)
    except NotebookFailed as error:
        print("\nthe docs build stopped: these notebooks failed when executed\n\n" + "\n\n".join(error.args[0]), file=sys.stderr)
        return 1
    print(f"wrote the site of {count} notebooks into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
