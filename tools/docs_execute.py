"""Running the notebooks for the documentation: each one executed as `nbdev-test` executes it,
then processed by nbdev for the docs with its outputs kept, into `_proc/`. A processed notebook
records a digest of its source, the package and this module, and runs again only when one of them changed.

The worker function lives in this importable module (not in the build script) because IPython,
which runs the cells, replaces `__main__` in the worker processes."""
from __future__ import annotations

import hashlib
import sys
import tempfile
import time
import warnings
from pathlib import Path

import docs_pages

ROOT = Path(__file__).resolve().parent.parent
NBS, PROC = ROOT / "nbs", ROOT / "_proc"


def package_digest() -> str:
    "Digest of the package's modules: a notebook's results depend on them as much as on its own cells."
    sha = hashlib.sha256()
    for module in sorted((ROOT / "neurotic").rglob("*.py")):
        sha.update(module.relative_to(ROOT).as_posix().encode() + b"\0" + module.read_bytes())
    return sha.hexdigest()


def notebook_key(source: Path, package: str) -> str:
    "What a notebook's results depend on: its cells, the package, and how this module runs them."
    return hashlib.sha256(source.read_bytes() + package.encode() + Path(__file__).read_bytes()).hexdigest()


def executed_key(processed: Path) -> str | None:
    "The digest a processed notebook in `_proc/` was executed from, if any."
    import nbformat
    if not processed.exists(): return None
    return nbformat.read(processed, as_version=4).metadata.get("neurotic_docs", {}).get("executed_from")


def execute_and_process(source: Path, key: str) -> tuple[str, str]:
    "Run `source` as nbdev-test does, then write nbdev's processed notebook with its outputs to `_proc/`; return (name, error)."
    from execnb.shell import CaptureShell
    from fastcore.nbio import does_cell_eval, fm_default_eval, read_nb, write_nb
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.frontmatter import nb_frontmatter
    from nbdev.process import NBProcessor, nb_lang
    from nbdev.processors import FilterDefaults
    cfg = get_config()
    nb = NBProcessor(source, rm_directives=False, process=True).nb  # parses the directives nbdev-test reads
    front = nb_frontmatter(nb)
    if nb_lang(nb) == "python" and str(front.get("skip_exec", "")).lower() not in ("true", "1", "yes"):
        default, flags = fm_default_eval(front), set(str(cfg.get("tst_flags", "") or "").split())
        skip = lambda cell: (cell.cell_type != "code" or not does_cell_eval(cell, default)  # noqa: E731
                             or bool(flags & (getattr(cell, "directives_", {}) or {}).keys()))
        shell = CaptureShell(source, profile=bool(cfg.exec_profile))
        try:
            with working_directory(source.parent):
                shell.run_all(nb, exc_stop=True, preproc=skip, postproc=lambda cell: show_open_figures(shell, cell),
                              cell_timeout=int(cfg.get("cell_timeout", 600)) or None)
        except BaseException:
            return source.name, shell.prettytb(fname=source) or "failed"
    executed = read_nb(source)  # the notebook as committed, given the outputs of the run
    for cell, ran in zip(executed.cells, nb.cells):
        if cell.cell_type == "code": cell.outputs, cell.execution_count = ran.get("outputs", []), ran.get("execution_count")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / source.name
        write_nb(executed, staged)
        processed = read_nb(staged)
        FilterDefaults()(processed)  # what nbdev-proc-nbs does to each notebook
    docs_pages.strip_main_module(processed)
    for cell in processed.cells:  # only what nbformat's schema allows: not execnb's timings, not nbdev's `has_sd` mark
        cell.metadata.pop("execution", None)
        for key in set(cell) - {"cell_type", "id", "metadata", "source", "attachments", "outputs", "execution_count"}: cell.pop(key)
    processed.metadata["neurotic_docs"] = {"executed_from": key}
    write_nb(processed, PROC / source.name)
    return source.name, ""


def show_open_figures(shell, cell) -> None:
    "Add the figures `cell` left open to its outputs and close them, as Jupyter's inline backend does (after `matplotlib.use('Agg')` too)."
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None or not pyplot.get_fignums(): return
    shell.user_ns["_docs_pyplot"] = pyplot
    cell.outputs.extend(shell.run("for _number in _docs_pyplot.get_fignums(): display(_docs_pyplot.figure(_number))\n"
                                  "_docs_pyplot.close('all')"))
    shell.user_ns.pop("_docs_pyplot", None)


def run_notebooks(sources: list[Path], n_workers: int = 2, force: bool = False) -> list[str]:
    "Execute and process the notebooks whose results are missing or stale; return the names of those that failed, with why."
    from fastcore.parallel import parallel
    PROC.mkdir(exist_ok=True)
    package, todo = package_digest(), []
    for notebook in sources:
        key = notebook_key(notebook, package)
        if force or executed_key(PROC / notebook.name) != key: todo.append((notebook, key))
        else: (PROC / notebook.name).touch()  # newer than its source, so that nbdev-docs keeps it
    print(f"executing {len(todo)} of {len(sources)} notebooks ({len(sources) - len(todo)} up to date)", flush=True)
    results = parallel(_run_one, todo, n_workers=n_workers, pause=0.01, progress=False) if todo else []
    return [f"{name}:\n{error}" for name, error in results if error]


def _run_one(item):
    "One notebook in a worker process, with a line of progress."
    source, key = item
    start = time.perf_counter()
    # nbdev's processing warns about each cell mixing imports with other code, which is not this build's business
    warnings.filterwarnings("ignore", "Found cells containing imports", UserWarning)
    name, error = execute_and_process(source, key)
    # to the real stdout: a notebook that stopped mid-cell can leave the shell's capture of sys.stdout in place
    print(f"  {name}: {'FAILED' if error else 'ok'} in {time.perf_counter() - start:.0f} s", file=sys.__stdout__, flush=True)
    return name, error
