"""Shared benchmark harness: medians after warm-up, ratios measured in the same run.

Every benchmark script in this folder uses `measure` for its timings and `report`
for its lines, so all of them print the same way and say what machine they ran on.
Timings never live in tests: these scripts print numbers, they do not assert speed
(a target that is missed is printed as MISSED, and the script exits non-zero only
when asked with --strict).
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable


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


def header(title: str) -> None:
    print(f"\n=== {title} ===")
    print(f"machine: {machine()}")


def report(name: str, ours: Timing, baseline: Timing | None, baseline_name: str,
           target: float | None = None, higher_is_better: bool = False) -> bool:
    """Print both timings and `ours / baseline`; compare with `target` if given.

    With `higher_is_better=False` (times), the target is a maximum ratio; returns
    whether the target was met (True when there is no target or no baseline)."""
    print(f"{name:<34} {ours}")
    if baseline is None:
        print(f"{baseline_name:<34} not available in this environment")
        return True
    print(f"{baseline_name:<34} {baseline}")
    ratio = ours.median / baseline.median
    line = f"ratio {name} / {baseline_name}: {ratio:.3f}  (speed-up {1/ratio:.1f}x)"
    met = True
    if target is not None:
        met = ratio >= target if higher_is_better else ratio <= target
        line += f"  target {'>=' if higher_is_better else '<='} {target}: {'met' if met else 'MISSED'}"
    print(line)
    return met


def finish(results: list[bool], strict: bool | None = None) -> None:
    "Exit non-zero on a missed target only with --strict."
    strict = ("--strict" in sys.argv) if strict is None else strict
    if strict and not all(results): sys.exit(1)
