"""The offline documentation site (tools/build_docs.py): one page per notebook with its results,
every internal link resolves, no page holds a Python traceback, signatures name types plainly.

The site is built into `_docs/` unless it already holds the site of the current sources, so that
this module and tests/test_docs_browser.py execute the notebooks once between them."""
import importlib.util
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))
SITE = ROOT / "_docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_docs = _load("build_docs")


def built_site() -> Path:
    "`_docs/`, built offline first unless it is the site of the sources as they are now."
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--if-stale", "--out", str(SITE)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return SITE


class PageParser(HTMLParser):
    "Collects the ids (anchors) a page defines, the href/src values it uses, and its text."
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.text = set(), [], ""

    def handle_data(self, data):
        self.text += data

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value: self.ids.add(value)
            if name in ("href", "src") and value is not None: self.links.append(value)


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


def test_every_notebook_has_its_page(site):
    assert NOTEBOOKS, "no notebooks found"
    missing = [nb.name for nb in NOTEBOOKS if not (site / build_docs.page_name(nb)).is_file()]
    assert not missing, f"notebooks without a page: {missing}"
    assert (site / "index.html").is_file() and build_docs.is_up_to_date(site)


def test_sidebar_of_the_index_links_every_page(site):
    linked = {urldefrag(link)[0] for link in parse(site / "index.html").links}
    pages = {build_docs.page_name(nb) for nb in NOTEBOOKS} - {"index.html"}
    assert pages <= linked, f"pages missing from the sidebar: {sorted(pages - linked)}"


def test_every_internal_link_resolves(site):
    pages = {page: parse(page) for page in sorted(site.glob("*.html")) if page.name != "404.html"}  # 404: links from the root
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            if not link or build_docs.EXTERNAL.match(link) and not link.startswith("#"): continue
            path, fragment = urldefrag(link)
            target = (page.parent / path).resolve() if path else page
            if target.is_dir(): target = target / "index.html"
            if target not in pages and not target.is_file():
                broken.append(f"{page.name}: {link} (no such page)")
            elif fragment and target in pages and fragment not in pages[target].ids:
                broken.append(f"{page.name}: {link} (no anchor #{fragment})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_page_holds_a_traceback(site):
    bad = [page.name for page in site.glob("*.html") if "Traceback (most recent call last)" in page.read_text(encoding="utf-8")]
    assert not bad, f"pages with a traceback: {bad}"


def test_pages_show_titles_signatures_and_results(site):
    text = (site / "rnn_scan.html").read_text(encoding="utf-8")
    assert "Vanilla RNNs, GRUs and scan" in text
    assert 'id="scan_gru_jax"' in text and "as one jitted" in text  # nbdev's show_doc, as a heading with its anchor
    assert "{target=" not in text and "#| " not in text  # Quarto's link attributes and cell directives are applied
    assert 'class="nb-output"' in text and "GRU, 256 steps, numpy loop:" in text  # printed: the timing of both scans
    training = (site / "training.html").read_text(encoding="utf-8")
    assert '<img alt="&lt;Figure size' in training and 'src="training_files/' in training  # plot_history's figure as an image
    assert list(site.glob("training_files/*.png")), "the training curves were not written as PNG files"


def test_signatures_name_types_without_main(site):
    "nbdev's processing defines the notebook's classes in `__main__`; the pages name them as written."
    assert [page.name for page in site.glob("*.html") if "__main__." in parse(page).text] == []
    assert "weights:Weights, # the cell's weights" in parse(site / "rnn_scan.html").text


def test_nbdev_keeps_the_executed_notebooks(site):
    "`nbdev-docs` (the Quarto site) re-runs nbdev's processing on `_proc/` first: the executed notebooks, plots included, survive it."
    (ROOT / "_proc").touch()  # as build_docs.py does before nbdev-docs: newer than pyproject.toml
    script = "from nbdev.serve import proc_nbs; proc_nbs('nbs', n_workers=0)"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True)
    training = json.loads((ROOT / "_proc" / "19_training.ipynb").read_text(encoding="utf-8"))
    images = [output for cell in training["cells"] for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
    assert len(images) >= 2, "the training curves are gone from _proc/19_training.ipynb"


def test_link_rewriting():
    pages = {"02_rnn_scan.ipynb": "rnn_scan.md", "index.ipynb": "index.md"}
    rewrite = build_docs._link_rewriter(pages, "https://github.com/o/r", "main", "https://o.github.io/r/")
    assert rewrite("02_rnn_scan.ipynb") == "rnn_scan.md"
    assert rewrite("./02_rnn_scan.ipynb#scan") == "rnn_scan.md#scan"
    assert rewrite("../nbs/02_rnn_scan.ipynb") == "rnn_scan.md"
    assert rewrite("https://o.github.io/r/rnn_scan.html#scan") == "rnn_scan.md#scan"
    assert rewrite("../Makefile") == "https://github.com/o/r/blob/main/Makefile"
    assert rewrite("../tests/benchmarks/harness.py#L3") == "https://github.com/o/r/blob/main/tests/benchmarks/harness.py#L3"
    for unchanged in ("https://jax.readthedocs.io/", "#The-sigmoid", "mailto:a@b.c", "no_such_file.txt"):
        assert rewrite(unchanged) == unchanged
    assert build_docs.page_name("10a_shapes.ipynb") == "shapes.html"
    assert build_docs.page_name("index.ipynb") == "index.html"


def test_sidebar_groups_follow_the_number_blocks():
    docs_pages = _load("docs_pages")
    entries = [("index.ipynb", "index.md", "neurotic"), ("02_rnn_scan.ipynb", "rnn_scan.md", "RNNs"),
               ("15a_layers_new.ipynb", "layers_new.md", "New"), ("19_training.ipynb", "training.md", "Training"),
               ("34_attention.ipynb", "attention.md", "The `Attention` layer")]
    assert docs_pages.navigation(entries) == [
        {"Home": "index.md"}, {"Foundations": [{"RNNs": "rnn_scan.md"}]},
        {"The Trax API: fastmath, layers, models": [{"New": "layers_new.md"}]},
        {"Training": [{"Training": "training.md"}]}, {"Language model": [{"The Attention layer": "attention.md"}]}]
    with pytest.raises(ValueError, match="notes.ipynb has no number prefix"):
        docs_pages.group_of("notes.ipynb")  # an unnumbered notebook has no place in the map


def test_index_notebook_maps_every_notebook():
    "README's notebook map (from nbs/index.ipynb) names every notebook in nbs/."
    index = (ROOT / "nbs" / "index.ipynb").read_text(encoding="utf-8")
    missing = [nb.name for nb in NOTEBOOKS if f"`{nb.name}`" not in index]
    assert not missing, f"add these notebooks to the map in nbs/index.ipynb: {missing}"


def test_workflows():
    "GitHub Pages gets the same executed notebooks (build_docs.py, Quarto there); the test workflow runs the README's test command."
    yaml = pytest.importorskip("yaml")
    workflows = ROOT / ".github" / "workflows"
    deploy = yaml.safe_load((workflows / "deploy.yaml").read_text())
    steps = deploy["jobs"]["deploy"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    uses = [step.get("uses", "") for step in steps]
    assert "tools/build_docs.py" in runs and "pip install -e '.[dev]'" in runs
    assert any(u.startswith("quarto-dev/quarto-actions/setup") for u in uses)
    assert any(u.startswith("peaceiris/actions-gh-pages") for u in uses)
    test = yaml.safe_load((workflows / "test.yaml").read_text())
    assert ".ci/run" in " ".join(step.get("run", "") for step in test["jobs"]["test"]["steps"])
    run = (ROOT / ".ci" / "run").read_text()
    assert run.rstrip().endswith("make test") and "apt-get install -y chromium" in run
