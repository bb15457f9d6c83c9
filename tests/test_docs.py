"""The offline documentation pages (tools/build_docs.py --offline): one page per notebook,
every internal link resolves, no page holds a Python traceback."""
import importlib.util
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "tools" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_docs = _load_builder()


class PageParser(HTMLParser):
    "Collects the ids (anchors) a page defines and the href/src values it uses."
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value: self.ids.add(value)
            if name in ("href", "src") and value is not None: self.links.append(value)


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "_docs"
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--offline", "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_every_notebook_has_its_page(site):
    assert NOTEBOOKS, "no notebooks found"
    missing = [nb.name for nb in NOTEBOOKS if not (site / build_docs.page_name(nb)).is_file()]
    assert not missing, f"notebooks without a page: {missing}"
    assert (site / "index.html").is_file()


def test_index_page_maps_every_page(site):
    linked = {urldefrag(link)[0] for link in parse(site / "index.html").links}
    pages = {build_docs.page_name(nb) for nb in NOTEBOOKS} - {"index.html"}
    assert pages <= linked, f"pages missing from the index's map: {sorted(pages - linked)}"


def test_every_internal_link_resolves(site):
    pages = {page: parse(page) for page in sorted(site.glob("*.html"))}
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            if not link or build_docs.EXTERNAL.match(link) and not link.startswith("#"): continue
            path, fragment = urldefrag(link)
            target = (page.parent / path).resolve() if path else page
            if target not in pages and not target.is_file():
                broken.append(f"{page.name}: {link} (no such page)")
            elif fragment and target in pages and fragment not in pages[target].ids:
                broken.append(f"{page.name}: {link} (no anchor #{fragment})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_page_holds_a_traceback(site):
    bad = [page.name for page in site.glob("*.html")
           if "Traceback (most recent call last)" in (text := page.read_text(encoding="utf-8"))
           or 'data-mime-type="application/vnd.jupyter.stderr"' in text]
    assert not bad, f"pages with a traceback or error output: {bad}"


def test_pages_have_titles_and_rendered_signatures(site):
    text = (site / "rnn_scan.html").read_text(encoding="utf-8")
    assert "Vanilla RNNs, GRUs and scan" in text
    assert 'id="scan_GRU_jax"' in text and "as one jitted" in text  # nbdev's show_doc, rendered as markdown
    assert 'id="scan_gru_jax"' in text  # the lower-case anchor Quarto gives the same heading
    assert "{target=" not in text  # Quarto's link attributes are not left as text
    assert "#| " not in text  # cell directives are applied, not shown


def test_link_rewriting():
    pages = {"02_rnn_scan.ipynb": "rnn_scan.html", "index.ipynb": "index.html"}
    rewrite = build_docs._link_rewriter(pages, "https://github.com/o/r", "main", "https://o.github.io/r/")
    assert rewrite("02_rnn_scan.ipynb") == "rnn_scan.html"
    assert rewrite("./02_rnn_scan.ipynb#scan") == "rnn_scan.html#scan"
    assert rewrite("../nbs/02_rnn_scan.ipynb") == "rnn_scan.html"
    assert rewrite("https://o.github.io/r/rnn_scan.html#scan") == "rnn_scan.html#scan"
    assert rewrite("../Makefile") == "https://github.com/o/r/blob/main/Makefile"
    assert rewrite("../tests/benchmarks/harness.py#L3") == "https://github.com/o/r/blob/main/tests/benchmarks/harness.py#L3"
    for unchanged in ("https://jax.readthedocs.io/", "#The-sigmoid", "mailto:a@b.c", "no_such_file.txt"):
        assert rewrite(unchanged) == unchanged
    assert build_docs.page_name("10a_shapes.ipynb") == "shapes.html"
    assert build_docs.page_name("index.ipynb") == "index.html"


def test_index_notebook_maps_every_notebook():
    "README's notebook map (from nbs/index.ipynb) names every notebook in nbs/."
    index = (ROOT / "nbs" / "index.ipynb").read_text(encoding="utf-8")
    missing = [nb.name for nb in NOTEBOOKS if f"`{nb.name}`" not in index]
    assert not missing, f"add these notebooks to the map in nbs/index.ipynb: {missing}"


def test_workflows():
    "GitHub Pages is published with nbdev-docs (Quarto there); the test workflow runs the README's test command."
    yaml = pytest.importorskip("yaml")
    workflows = ROOT / ".github" / "workflows"
    deploy = yaml.safe_load((workflows / "deploy.yaml").read_text())
    steps = deploy["jobs"]["deploy"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    uses = [step.get("uses", "") for step in steps]
    assert "nbdev-docs" in runs and "pip install -e '.[dev]'" in runs
    assert any(u.startswith("quarto-dev/quarto-actions/setup") for u in uses)
    assert any(u.startswith("peaceiris/actions-gh-pages") for u in uses)
    test = yaml.safe_load((workflows / "test.yaml").read_text())
    assert ".ci/run" in " ".join(step.get("run", "") for step in test["jobs"]["test"]["steps"])
    assert "make test" in (ROOT / ".ci" / "run").read_text()
