"""The pages of the offline documentation site: an executed, processed notebook becomes one
Markdown page for MkDocs (prose, code, outputs, plots as image files), with links between
notebooks turned into links between pages, and the sidebar grouped by number block."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from urllib.parse import urldefrag

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
PANDOC_ATTRIBUTES = re.compile(r"(\]\([^)\s]*\))\{[^}]*\}")  # `[text](url){target=...}` -> `[text](url)`
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)  # http:, mailto:, data:, //host, #anchor
DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<key>[\w-]+)\s*:?\s*(?P<value>.*?)\s*$")
MD_LINK = re.compile(r"(?P<open>\]\()(?P<url>[^)\s]+)(?P<close>[)\s])")
HTML_LINK = re.compile(r'(?P<open>\b(?:href|src)=")(?P<url>[^"]*)(?P<close>")')
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAIN_PREFIX = re.compile(r"\b__main__\.(?=[A-Za-z_])")

# The sidebar's sections: a notebook belongs to the last group whose first number is not above
# its own (`15a_...` is 15), so new notebooks find their place without being listed here.
GROUPS = [(0, "Foundations"), (10, "The Trax API: fastmath, layers, models"), (18, "Training"),
          (20, "Sentiment analysis"), (30, "Language model"), (40, "Named entities"),
          (50, "Siamese network"), (90, "Demo")]


def page_name(notebook: str | Path) -> str:
    "The page a notebook becomes on the published site: numeric prefix dropped, `.html`."
    from nbdev.config import nbpath2html
    return nbpath2html(Path(notebook).name).name


def group_of(notebook: str | Path) -> str:
    "The sidebar section of a numbered notebook."
    match = re.match(r"\d+", Path(notebook).name)
    if not match: raise ValueError(f"{Path(notebook).name} has no number prefix, so no place in the sidebar's groups")
    number = int(match[0])
    return [title for first, title in GROUPS if first <= number][-1]


def navigation(entries: list[tuple[str, str, str]]) -> list:
    "MkDocs `nav` from (notebook, page, title) in notebook order: the index page, then one section per group."
    nav, sections = [], {}
    for notebook, page, title in entries:
        if notebook == "index.ipynb": nav.insert(0, {"Home": page}); continue
        group = group_of(notebook)
        if group not in sections: sections[group] = []; nav.append({group: sections[group]})
        sections[group].append({title.replace("`", ""): page})  # the sidebar shows titles as plain text
    return nav


def slugify(value: str, separator: str) -> str:
    "Heading ids as Quarto writes those nbdev links to: lower case, dots and underscores kept (`Loop.new_rng` -> `loop.new_rng`)."
    return re.sub(r"\s+", separator, re.sub(r"[^\w\s.-]", "", html.unescape(value)).strip().lower())


def strip_main_module(nb) -> None:
    "Signatures name types as written (`Weights`), not as nbdev's processing namespace does (`__main__.Weights`)."
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                text = data["text/markdown"]
                data["text/markdown"] = MAIN_PREFIX.sub("", "".join(text) if isinstance(text, list) else text)


def link_rewriter(pages: dict[str, str], repo_url: str, branch: str, site_url: str):
    "A function mapping one link, as written in a notebook in nbs/, to where it lives on the site."
    def rewrite(url: str) -> str:
        path, fragment = urldefrag(url)
        anchor = f"#{fragment}" if fragment else ""
        site_pages = {page_name(nb): page for nb, page in pages.items()}
        if site_url and path.startswith(site_url) and path[len(site_url):] in site_pages:
            return site_pages[path[len(site_url):]] + anchor  # nbdev's links to the published site: this build's page
        if not url or EXTERNAL.match(url): return url
        if path.endswith(".ipynb") and Path(path).name in pages:
            return pages[Path(path).name] + anchor
        target = (NBS / path).resolve()
        if target.exists() and ROOT in target.parents and repo_url:
            return f"{repo_url}/blob/{branch}/{target.relative_to(ROOT).as_posix()}{anchor}"
        return url  # left as written: tests/test_docs.py reports it if it does not resolve
    return rewrite


def rewrite_links(text: str, rewrite) -> str:
    "Apply `rewrite` to every Markdown link target and HTML href/src in `text`."
    text = MD_LINK.sub(lambda m: m["open"] + rewrite(m["url"]) + m["close"], text)
    return HTML_LINK.sub(lambda m: m["open"] + html.escape(rewrite(html.unescape(m["url"])), quote=True) + m["close"], text)


def front_matter(nb) -> dict:
    "The YAML front matter nbdev puts in a leading raw cell (title, description, output-file)."
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.lstrip().startswith("---"):
        return yaml.safe_load(nb.cells[0].source.strip().strip("-")) or {}
    return {}


def directives(source: str) -> tuple[dict, str]:
    "Quarto/nbdev `#| key: value` lines of a code cell, and the source without them."
    found, kept = {}, []
    for line in source.splitlines():
        match = DIRECTIVE.match(line)
        if match: found[match["key"]] = match["value"].lower()
        else: kept.append(line)
    return found, "\n".join(kept).strip("\n")


def fenced(text: str, language: str = "text") -> str:
    "`text` as a fenced code block whose fence no line of it can close."
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def terminal_text(text: str) -> str:
    "What a terminal shows for `text`: colours dropped, each line as its last carriage return left it (progress bars)."
    return "\n".join(line.rsplit("\r", 1)[-1] for line in ANSI.sub("", text).split("\n"))


def render_output(output, image_name: str, files: dict[str, bytes]) -> str:
    "One cell output as Markdown; images go into `files` under `image_name` plus their extension."
    join = lambda value: "".join(value) if isinstance(value, list) else value  # noqa: E731
    if output["output_type"] == "stream": return fenced(terminal_text(join(output["text"])))
    if output["output_type"] == "error": return fenced(terminal_text("\n".join(output["traceback"])))
    data = output.get("data", {})
    for mime, extension in (("image/png", ".png"), ("image/jpeg", ".jpg"), ("image/svg+xml", ".svg")):
        if mime in data:
            content = join(data[mime])
            files[image_name + extension] = content.encode() if mime == "image/svg+xml" else base64.b64decode(content)
            return f"![{html.escape(join(data.get('text/plain', 'output')))}]({image_name}{extension})"
    if "text/html" in data: return f"<div class=\"nb-html\">\n{join(data['text/html'])}\n</div>"
    if "text/markdown" in data: return join(data["text/markdown"])
    return fenced(terminal_text(join(data.get("text/plain", ""))))


def notebook_markdown(nb, stem: str, rewrite) -> tuple[str, dict[str, bytes]]:
    "An executed, processed notebook as one Markdown page, and the image files its outputs need (under `stem`_files/)."
    meta, blocks, files = front_matter(nb), [], {}
    if meta.get("title"):
        blocks.append(f"# {meta['title']}" + (f"\n\n> {meta['description']}" if meta.get("description") else ""))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            blocks.append(PANDOC_ATTRIBUTES.sub(r"\1", cell.source)); continue
        if cell.cell_type != "code": continue
        options, source = directives(cell.source)
        if "hide" in options or options.get("include") == "false": continue
        outputs = [render_output(output, f"{stem}_files/cell{index}_{number}", files)
                   for number, output in enumerate(cell.get("outputs", []))]
        if options.get("output") == "asis":  # show_doc: its markdown is the content
            blocks.extend(PANDOC_ATTRIBUTES.sub(r"\1", text) for text in outputs); continue
        if source and options.get("echo") != "false": blocks.append(fenced(source, "python"))
        if outputs: blocks.append('<div class="nb-output" markdown>\n\n' + "\n\n".join(outputs) + "\n\n</div>")
    return rewrite_links("\n\n".join(blocks) + "\n", rewrite), files
