"""Build the documentation site into `_docs/`.

With Quarto on the PATH this runs `nbdev-docs`, which renders the published site.
Without it (Quarto cannot be installed offline), it says so and builds plain HTML pages:

1. nbdev's processed notebooks in `_proc/`: the processing step of `nbdev-proc-nbs`
   (`nbdev.serve.proc_nbs`: directives applied, `show_doc` signatures rendered), called
   directly because the command itself first tries to download Quarto;
2. one page per notebook with nbconvert's HTML exporter, named as on the published site
   (`02_rnn_scan.ipynb` -> `rnn_scan.html`);
3. an index page: `nbs/index.ipynb` followed by a map of every page of the build.

Links to other notebooks become links to their pages, and relative links to other files of
the repository become links to the repository on GitHub. The notebooks are rendered from
their source, which is committed without outputs; nothing is executed apart from nbdev's
own processing (it runs the cells that hold imports, and `show_doc`).

    python tools/build_docs.py                       # nbdev-docs if quarto is there, else offline
    python tools/build_docs.py --offline --out DIR   # always the offline pages, into DIR
"""
from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urldefrag

import nbformat
import yaml
from nbconvert import HTMLExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
HREF = re.compile(r'(?P<attr>\b(?:href|src))="(?P<url>[^"]*)"')
PANDOC_ATTRIBUTES = re.compile(r"(\]\([^)\s]*\))\{[^}]*\}")  # `[text](url){target=...}` -> `[text](url)`
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)  # http:, mailto:, data:, //host, #anchor
DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<key>[\w-]+)\s*:?\s*(?P<value>.*?)\s*$")


def page_name(notebook: str | Path) -> str:
    "The page a notebook becomes on the published site: numeric prefix dropped, `.html`."
    from nbdev.config import nbpath2html
    return nbpath2html(Path(notebook).name).name


def process_notebooks(n_workers: int = 2, file_re: str = "") -> Path:
    "Write nbdev's processed notebooks (those whose name matches `file_re`) into `_proc/`; return that folder."
    from nbdev.serve import proc_nbs
    # nbdev warns about each cell mixing imports with other code; its workers inherit this filter
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Found cells containing imports:UserWarning")
    return Path(proc_nbs(str(NBS), n_workers=n_workers, file_re=file_re))


def _front_matter(nb) -> dict:
    "Pop the YAML front matter nbdev puts in a leading raw cell (title, description, output-file)."
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.lstrip().startswith("---"):
        text = nb.cells.pop(0).source.strip().strip("-")
        return yaml.safe_load(text) or {}
    return {}


def _directives(source: str) -> tuple[dict, str]:
    "Quarto/nbdev `#| key: value` lines of a code cell, and the source without them."
    found, kept = {}, []
    for line in source.splitlines():
        match = DIRECTIVE.match(line)
        if match: found[match["key"]] = match["value"].lower()
        else: kept.append(line)
    return found, "\n".join(kept).strip("\n")


def _for_html(nb, meta: dict):
    "Apply the cell options Quarto would (echo, output: asis, include, hide) and add the title."
    cells = []
    if meta.get("title"):
        heading = f"# {meta['title']}" + (f"\n\n> {meta['description']}" if meta.get("description") else "")
        cells.append(nbformat.v4.new_markdown_cell(heading))
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # nbdev's timings, which nbformat's schema rejects
        if cell.cell_type == "markdown":
            cell.source = PANDOC_ATTRIBUTES.sub(r"\1", cell.source)
        if cell.cell_type != "code":
            cells.append(cell); continue
        options, cell.source = _directives(cell.source)
        if "hide" in options or options.get("include") == "false": continue
        markdown = [o["data"]["text/markdown"] for o in cell.get("outputs", [])
                    if "data" in o and "text/markdown" in o["data"]]
        if options.get("output") == "asis" and markdown:  # show_doc: its markdown is the content
            cells.append(nbformat.v4.new_markdown_cell(PANDOC_ATTRIBUTES.sub(r"\1", "\n\n".join(markdown))))
            continue
        if options.get("echo") == "false":
            cell.metadata.setdefault("tags", []).append("remove_input")
        cells.append(cell)
    nb.cells = cells
    return nb


def _link_rewriter(pages: dict[str, str], repo_url: str, branch: str, site_url: str):
    "A function mapping one href/src value, as written in a notebook in nbs/, to where it lives on the site."
    def rewrite(url: str) -> str:
        path, fragment = urldefrag(url)
        anchor = f"#{fragment}" if fragment else ""
        if site_url and path.startswith(site_url) and path[len(site_url):] in pages.values():
            return path[len(site_url):] + anchor  # nbdev's links to the published site: this build's page
        if not url or EXTERNAL.match(url): return url
        if path.endswith(".ipynb") and Path(path).name in pages:
            return pages[Path(path).name] + anchor
        target = (NBS / path).resolve()
        if target.exists() and ROOT in target.parents and repo_url:
            return f"{repo_url}/blob/{branch}/{target.relative_to(ROOT).as_posix()}{anchor}"
        return url  # left as written: tests/test_docs.py reports it if it does not resolve
    return rewrite


HEADING_ID = re.compile(r'(<h[1-6][^>]*\bid=")([^"]+)(")')


def _lowercase_anchors(text: str) -> str:
    "Add the lower-case anchor Quarto gives each heading (nbdev links `#scan_gru_jax`; nbconvert writes `#scan_GRU_jax`)."
    def add(match):
        lower = match[2].lower()
        return match[0] if lower == match[2] else f'<span id="{lower}"></span>{match[0]}'
    return HEADING_ID.sub(add, text)


def _rewrite_links(text: str, rewrite) -> str:
    return HREF.sub(lambda m: f'{m["attr"]}="{html.escape(rewrite(html.unescape(m["url"])), quote=True)}"', text)


def _inline_html(text: str) -> str:
    "Escape `text` for HTML, turning its `code` spans into <code> elements."
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _site_map(entries: list[tuple[str, str, str]]) -> str:
    "HTML list of (page, title, description) for the index page."
    items = "\n".join(f'<li><a href="{page}">{_inline_html(title)}</a>'
                      + (f" &mdash; {_inline_html(description)}" if description else "") + "</li>"
                      for page, title, description in entries)
    return ('<section id="site-map" class="jp-RenderedHTMLCommon" style="max-width:60em;margin:1em auto;padding:0 1em">\n'
            "<h2>Pages of this build</h2>\n"
            "<p>Built offline without Quarto. The notebooks are committed without outputs, so each page "
            "shows the prose, the code and nbdev's signatures; run a notebook (<code>make lab</code>) to see "
            "its results, or <code>make test</code> to run every check.</p>\n"
            f"<ul>\n{items}\n</ul>\n</section>\n")


def build_offline(out_dir: Path, n_workers: int = 2, file_re: str = "") -> list[Path]:
    "Build one HTML page per notebook (matching `file_re`) plus the index page into `out_dir`; return the pages."
    from nbdev.config import get_config
    cfg = get_config()
    repo_url, branch = str(cfg.get("git_url", "")).rstrip("/"), str(cfg.get("branch", "main"))
    pages = {nb.name: page_name(nb) for nb in sorted(NBS.glob("*.ipynb"))}
    sources = [nb for nb in sorted(NBS.glob("*.ipynb")) if re.search(file_re, nb.name)]
    proc = process_notebooks(n_workers, file_re)
    site_url = f"{cfg.get('doc_host', '')}{cfg.get('doc_baseurl', '')}".rstrip("/") + "/"
    rewrite = _link_rewriter(pages, repo_url, branch, site_url)
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {"remove_input"}  # `#| echo: false` cells
    exporter = HTMLExporter(config=config, template_name="lab", exclude_input_prompt=True, exclude_output_prompt=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.html"): stale.unlink()  # pages of notebooks that are gone
    entries, written = [], []
    for source in sources:
        nb = nbformat.read(proc / source.name, as_version=4)
        meta = _front_matter(nb)
        page = pages[source.name]
        title = str(meta.get("title") or source.stem)
        body, _ = exporter.from_notebook_node(_for_html(nb, meta), resources={"metadata": {"name": title}})
        body = _lowercase_anchors(_rewrite_links(body, rewrite))
        if page != "index.html":
            nav = f'<nav style="max-width:60em;margin:1em auto;padding:0 1em"><a href="index.html">{html.escape(cfg.get("title", "home"))}</a> &rsaquo; {html.escape(title)}</nav>'
            body = re.sub(r"(<body[^>]*>)", lambda m: m[1] + "\n" + nav, body, count=1)
            entries.append((page, title, str(meta.get("description") or "")))
        (out_dir / page).write_text(body, encoding="utf-8")
        written.append(out_dir / page)
    index = out_dir / "index.html"
    if not index.exists():
        index.write_text(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(cfg.get('title', 'docs'))}</title>"
                         "</head><body></body></html>\n", encoding="utf-8")
        written.append(index)
    text = index.read_text(encoding="utf-8")
    index.write_text(text.replace("</body>", _site_map(entries) + "</body>", 1), encoding="utf-8")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="build the offline pages even when quarto is installed")
    parser.add_argument("--out", type=Path, default=ROOT / "_docs", help="folder for the offline pages (default _docs/)")
    parser.add_argument("--file-re", default="", help="only notebooks whose name matches this regex (default: all)")
    parser.add_argument("--n-workers", type=int, default=2, help="processes for nbdev's notebook processing")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # nbdev finds its settings in pyproject.toml from the working directory
    if not args.offline and shutil.which("quarto"):
        return subprocess.run([str(Path(sys.executable).parent / "nbdev-docs")], cwd=ROOT).returncode
    if not args.offline:
        print("quarto is not on the PATH: building plain HTML pages offline instead of the Quarto site "
              "(install Quarto, e.g. with `nbdev-install-quarto`, for the published look).")
    try:
        pages = build_offline(args.out.resolve(), n_workers=args.n_workers, file_re=args.file_re)
    except Exception as error:  # nbdev's processing failed in a notebook: say where, briefly
        if "Error in notebook" not in str(error): raise
        print(f"\nnbdev could not process a notebook for the docs:\n{error}\n\n"
              "nbdev runs every cell that holds an import statement while processing (to render show_doc); "
              "keep imports in cells of their own, with no other code.", file=sys.stderr)
        return 1
    print(f"wrote {len(pages)} pages into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
