"""Shared benchmark harness: medians after warm-up, ratios measured in the same run.

Every benchmark script in this folder uses `measure` for its timings and `report`
for its lines, so all of them print the same way and say what machine they ran on.
Timings never live in tests: these scripts print numbers, they do not assert speed
(a target that is missed is printed as MISSED, and the script exits non-zero only
when asked with --strict).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# The corpora live beside the checkout (../shared/nltk_data), as for the Makefile; NLTK reads NLTK_DATA when it
# is first imported, so every script imports this module before anything that imports nltk.
SHARED_NLTK = Path(__file__).resolve().parents[3] / "shared" / "nltk_data"
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)


def _block(value: Any) -> Any:
    "Wait for asynchronous JAX results so a timing covers the work, not the dispatch."
    try:
        import jax
        return jax.block_until_ready(value)
    except Exception:
        return value


@dataclass
class Timing:
    "Seconds per call over `repeats` timed calls after `warmup` untimed ones."
    median: float
    low: float   # fastest call
    high: float  # slowest call
    repeats: int

    @property
    def ms(self) -> float: return self.median * 1e3

    def __str__(self) -> str:
        return f"median {self.median*1e3:9.3f} ms  (min {self.low*1e3:.3f}, max {self.high*1e3:.3f}, n={self.repeats})"


def measure(fn: Callable[[], Any], warmup: int = 3, repeats: int = 15) -> Timing:
    "Call `fn` `warmup` times untimed (compilation, caches), then time `repeats` calls."
    for _ in range(warmup): _block(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(fn())
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times), repeats)


def machine() -> str:
    "One line naming the machine, Python and JAX the numbers came from."
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip(); break
    except OSError:
        pass
    try:
        import jax
        jax_part = f"jax {jax.__version__} on {jax.default_backend()} ({jax.device_count()} device(s))"
    except Exception:
        jax_part = "jax not importable"
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{jax_part}, {platform.system()} {platform.release()}")


def seeded_torch():
    "PyTorch for a baseline worker: as many threads as cores this process may use, and seed 0."
    import torch
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    return torch


def header(title: str) -> None:
    print(f"\n=== {title} ===")
    print(f"machine: {machine()}")


def report(name: str, ours: Timing, baseline: Timing | None, baseline_name: str,
           target: float | None = None, higher_is_better: bool = False,
           paired: list[float] | None = None) -> bool:
    """Print both timings and `ours / baseline`; compare with `target` if given.

    With `higher_is_better=False` (times), the target is a maximum ratio; returns
    whether the target was met (True when there is no target or no baseline). `paired` are per-round
    ratios from alternating rounds (each of ours over the baseline's round beside it); their median is
    the ratio then, which cancels the machine's drift between rounds."""
    print(f"{name:<34} {ours}")
    if baseline is None:
        print(f"{baseline_name:<34} not available in this environment")
        return True
    print(f"{baseline_name:<34} {baseline}")
    ratio = statistics.median(paired) if paired else ours.median / baseline.median
    how = f" (median of {len(paired)} paired rounds)" if paired else ""
    line = f"ratio {name} / {baseline_name}{how}: {ratio:.3f}  (speed-up {1/ratio:.1f}x)"
    met = True
    if target is not None:
        met = ratio >= target if higher_is_better else ratio <= target
        line += f"  target {'>=' if higher_is_better else '<='} {target}: {'met' if met else 'MISSED'}"
    print(line)
    return met


def timed(fn) -> tuple[float, float]:
    "Run `fn` once; return its (wall, process CPU) seconds."
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


# ----------------------------------------------------------------------------- baselines in side processes
# A baseline framework (PyTorch, Trax 1.4.1) is never a dependency of neurotic: it runs in a worker
# process under an interpreter that has it, named by an option or an environment variable
# (NEUROTIC_TORCH_PYTHON, NEUROTIC_TRAX_PYTHON). The benchmark starts the worker (`Worker`), the worker
# builds its step and answers timing requests (`serve`), and the benchmark alternates rounds of its
# own steps with requests to the worker, so a change of load hits both sides alike.

def baseline_python(option: str | None, variable: str, module: str) -> str | None:
    """The interpreter for a baseline worker: `option`, else `$variable`, else this interpreter when
    it can import `module`; None when the baseline is not available."""
    path = option or os.environ.get(variable)
    if path:
        return path
    try:
        import importlib.util
        return sys.executable if importlib.util.find_spec(module) else None
    except Exception:
        return None


def serve(description: str, run: Callable[[int], list], out=None) -> None:
    """The worker's side: announce `description`, then answer each stdin line `N` with the JSON list
    `run(N)` returns, (wall, cpu) seconds per step (or one averaged pair per request). `out` is the
    stream the benchmark reads (default stdout)."""
    out = out or sys.stdout
    print(json.dumps({"ready": description}), file=out, flush=True)
    for line in sys.stdin:
        print(json.dumps(run(int(line))), file=out, flush=True)


def serve_requests(description: str, handle: Callable[[dict], Any], out=None) -> None:
    """The worker's side of a conversation richer than timing requests: announce `description`, then answer
    each stdin line, a JSON object, with the JSON of `handle(request)`."""
    out = out or sys.stdout
    print(json.dumps({"ready": description}), file=out, flush=True)
    for line in sys.stdin:
        print(json.dumps(handle(json.loads(line))), file=out, flush=True)


class Worker:
    "A baseline running in its own process (`python script *args`, which calls `serve`), answering timing requests."

    def __init__(self, python: str, script: str, *args: str):
        import tempfile
        self.log = tempfile.TemporaryFile("w+")  # the worker's warnings; shown only if it fails
        self.process = subprocess.Popen([python, str(script), *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"the baseline worker {python} {script} {' '.join(args)} did not start:\n"
                               + self.log.read()[-4000:])
        self.description = json.loads(line)["ready"]

    def times(self, n: int) -> list[list[float]]:
        "Ask a `serve` worker for `n` steps; returns its (wall, cpu) seconds."
        return self.ask(n)

    def ask(self, request) -> Any:
        "Send `request` (JSON-able) as one line and return the worker's JSON answer."
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"the baseline worker stopped while answering {request!r}:\n" + self.log.read()[-4000:])
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()


def baselines_line(ran: dict[str, str | None]) -> str:
    "One line recording which same-run baselines ran: {name: description or None}."
    parts = [f"{name}: {desc if desc else 'not run'}" for name, desc in ran.items()]
    return "baselines in this run: " + "; ".join(parts)


def finish(results: list[bool], strict: bool | None = None) -> None:
    "Exit non-zero on a missed target only with --strict."
    strict = ("--strict" in sys.argv) if strict is None else strict
    if strict and not all(results): sys.exit(1)
