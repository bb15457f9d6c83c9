"""The offline documentation site in a real browser: headless Chromium (Debian's `chromium`),
driven by Playwright, reads `_docs/` served on localhost. Plots load, formulas are typeset,
the sidebar links every page, search finds a page by its text, and no page logs a JavaScript
error or a failed request. Screenshots of three pages go to `_docs/screenshots/`."""
import functools
import os
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_docs import NOTEBOOKS, build_docs, built_site

# Debian's package by default; NEUROTIC_CHROMIUM names another Chromium build (e.g. google-chrome on GitHub's runners).
CHROMIUM = Path(os.environ.get("NEUROTIC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The pages photographed, each scrolled to what it shows: a formula, a training curve, generated text.
SCREENSHOTS = {"rnn_scan.html": "article mjx-container[display]", "training.html": 'article img[src*="training_files/"]',
               "language_model.html": "article .nb-output :text('greedy')"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="module")
def base_url():
    "The site, built if need be, served on a free localhost port for as long as the module runs."
    site = built_site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with `apt-get install -y chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    "A new page at `url`, with the list of problems it reports: JavaScript errors, failed or refused requests."
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on("console", lambda message: problems.append(f"console error: {message.text}") if message.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url} ({request.failure})"))
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)
    page.goto(url, wait_until="load")
    return page, problems


def test_training_page_shows_its_plots(browser, base_url):
    page, problems = open_page(browser, base_url + "training.html")
    sizes = page.eval_on_selector_all('article img[src*="training_files/"]', "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    page.close()
    assert sizes, "no plot image on the training page"
    assert all(complete and width > 0 for complete, width in sizes), f"plots that did not load: {sizes}"
    assert not problems, problems


def test_formulas_are_typeset(browser, base_url):
    page, problems = open_page(browser, base_url + "rnn_scan.html")
    page.wait_for_selector("article mjx-container svg", timeout=20_000)
    text = page.inner_text("article")
    rendered = page.eval_on_selector_all("article mjx-container", "nodes => nodes.length")
    page.close()
    assert "$$" not in text and "\\frac" not in text, "raw LaTeX left in the page's text"
    assert rendered >= 10, f"only {rendered} formulas typeset on the rnn_scan page"
    assert not problems, problems


def test_sidebar_links_every_page_in_notebook_order(browser, base_url):
    page, problems = open_page(browser, base_url + "index.html")
    links = page.eval_on_selector_all("nav.md-nav--primary a.md-nav__link[href]", "as => as.map(a => a.getAttribute('href'))")
    page.close()
    expected = [build_docs.page_name(nb) for nb in NOTEBOOKS if nb.name != "index.ipynb"]
    linked = [link.split("#")[0] for link in links if link.split("#")[0] in expected]
    assert linked == expected, f"sidebar pages, in order: {linked}"
    assert not problems, problems


def test_search_finds_the_perplexity_page(browser, base_url):
    page, problems = open_page(browser, base_url + "index.html")
    page.click("input.md-search__input")
    page.fill("input.md-search__input", "perplexity")
    page.wait_for_selector(".md-search-result__item a", timeout=20_000)
    hits = page.eval_on_selector_all(".md-search-result__item a", "as => as.map(a => a.getAttribute('href'))")
    page.close()
    assert hits and urlsplit(hits[0]).path == "/perplexity.html", f"search results: {hits}"  # the best match first
    assert not problems, problems


def test_no_page_logs_an_error_and_screenshots(browser, base_url):
    site = Path(built_site())
    pages = sorted(p.name for p in site.glob("*.html") if p.name != "404.html")
    assert len(pages) >= len(NOTEBOOKS)
    shots = site / "screenshots"
    shots.mkdir(exist_ok=True)
    failures = {}
    for name in pages:
        page, problems = open_page(browser, base_url + name)
        page.wait_for_load_state("networkidle")
        if page.query_selector("article .arithmatex"):
            page.wait_for_selector("article mjx-container", timeout=20_000)
        if name in SCREENSHOTS:
            page.locator(SCREENSHOTS[name]).first.scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # the header's title changes with a short animation on scrolling
            page.screenshot(path=str(shots / name.replace(".html", ".png")))
        page.close()
        if problems: failures[name] = problems
    assert not failures, failures
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(n.replace(".html", ".png") for n in SCREENSHOTS)
