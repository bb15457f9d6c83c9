"""Wall-clock time to a held-out perplexity: the seed's GRU language model trained by neurotic and by Trax 1.4.1.

Both sides train the original notebooks' model (ShiftRight, Embedding(256, 512), two GRU(512), Dense(256),
LogSoftmax) with one recipe, `neurotic.nlp.language_model.LMConfig`'s defaults: batches of 32 lines in six
length buckets, Adam at 3e-3 (Trax's other defaults) after a 50-step linear warm-up, gradients clipped to
norm 1, CrossEntropyLoss. They start from the same weights (neurotic's, handed to Trax: the weight trees have
one layout) and see the same batches in the same order. neurotic trains with
`neurotic.supervised.training.Loop`; Trax 1.4.1 with its own `training.Loop`, in a worker process
(tests/benchmarks/trax_side.py, workload `lm`) under the interpreter that `--trax-python PATH` or
NEUROTIC_TRAX_PYTHON names (e.g. /tmp/traxvenv/bin/python, made by tools/trax_reference/make_trax_venv.sh).

The two trainers take turns in chunks of about `--chunk-seconds` of training, and each clock counts only its
own steps (compilation included, as a user waits for it), so a change of load on a shared machine hits both
alike. Every `--eval-every` seconds of its own training, a side's held-out perplexity on the 1,000 held-out
Shakespeare lines is measured (not timed). A side stops when it reaches the target or its cap. Printed: each
side's curve, the time each needed to reach the target (where the log perplexity, taken as linear between the
last two evaluations, crosses it; and the first evaluation at or below it), their ratio, and the load average;
the two curves go into one PNG.

    NEUROTIC_TRAX_PYTHON=/tmp/traxvenv/bin/python python tests/benchmarks/bench_time_to_perplexity.py
    python tests/benchmarks/bench_time_to_perplexity.py --minutes 2 --target 12   # a quick check
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import Worker, baseline_python, baselines_line, finish, header  # noqa: E402


def parse_args(argv=None):
    "The benchmark's options; options meant for other benchmarks (e.g. --strict) pass through."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="training-time cap of each side (default: 15)")
    parser.add_argument("--target", type=float, default=5.0, help="held-out perplexity to reach (default: 5.0)")
    parser.add_argument("--chunk-seconds", type=float, default=20.0, help="training seconds per turn")
    parser.add_argument("--eval-every", type=float, default=60.0, help="training seconds between evaluations")
    parser.add_argument("--plot", default=str(HERE.parents[1] / "runs" / "bench_time_to_perplexity.png"),
                        help="PNG to write the two curves to")
    parser.add_argument("--trax-python", help="interpreter with Trax 1.4.1 (default: $NEUROTIC_TRAX_PYTHON)")
    args, _ = parser.parse_known_args(argv)
    for name in ("minutes", "target", "chunk_seconds", "eval_every"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive; got {getattr(args, name)}")
    return args


class Side:
    "One trainer's clock, curve and verdict; `train(n)` returns the seconds of n steps, `log_perplexity()` the held-out value."

    def __init__(self, name, train, log_perplexity, seconds_per_step_guess):
        self.name, self.train, self.log_perplexity = name, train, log_perplexity
        self.seconds, self.steps, self.step_time = 0.0, 0, seconds_per_step_guess
        self.curve = []  # (training seconds, steps, log perplexity)
        self.reached = None  # training seconds at the first evaluation at or below the target
        self.crossed = None  # ... and where the log perplexity, linear between evaluations, crossed it
        self.next_eval = 0.0

    def evaluate(self, log_target):
        value = self.log_perplexity()
        self.curve.append((self.seconds, self.steps, value))
        print(f"{self.name:<9} {self.seconds:8.1f} s {self.steps:6d} steps  held-out perplexity {math.exp(value):8.3f}",
              flush=True)
        if self.reached is None and value <= log_target:
            self.reached = self.seconds
            self.crossed = self.time_to(log_target)

    def time_to(self, log_value):
        "Training seconds at which the curve, linear between evaluations, first reaches `log_value` (or None)."
        for i, (seconds, _, value) in enumerate(self.curve):
            if value <= log_value:
                if i == 0:
                    return seconds
                before, _, above = self.curve[i - 1]
                return before + (seconds - before) * (above - log_value) / (above - value)
        return None

    def turn(self, chunk_seconds, eval_every, cap, log_target):
        "Train for about `chunk_seconds` (in runs sized from the measured step time), evaluating when due."
        end = min(self.seconds + chunk_seconds, cap)
        while self.reached is None and self.seconds < end:
            if self.seconds >= self.next_eval:
                self.evaluate(log_target)
                self.next_eval += eval_every
                continue
            remaining = min(end, self.next_eval) - self.seconds
            n = max(1, min(50, round(remaining / self.step_time)))
            seconds = self.train(n)
            self.seconds, self.steps = self.seconds + seconds, self.steps + n
            self.step_time = seconds / n
        if self.reached is None and self.seconds >= cap and (not self.curve or self.curve[-1][0] < self.seconds):
            self.evaluate(log_target)  # the value at the cap

    def done(self, cap):
        return self.reached is not None or self.seconds >= cap


def neurotic_side(config, train_lines, held_out_lines):
    "neurotic's Loop on the recipe; returns the Side and the loop (whose initial weights Trax starts from)."
    from neurotic.nlp.language_model import held_out_log_perplexity, make_loop
    never = lambda step: False
    loop = make_loop(config, train_lines, checkpoint_at=never, eval_at=never, progress_bar=False)

    def train(n):
        start = time.perf_counter()
        loop.run(n)  # returns once the last loss is on the host and the weights are published
        return time.perf_counter() - start

    side = Side("neurotic", train, lambda: held_out_log_perplexity(config, loop.model.weights, held_out_lines), 2.0)
    return side, loop


def trax_side(python, config, loop, train_lines, held_out_lines, folder):
    "Trax's Loop in a worker, started from `loop`'s initial weights; its batches come from the same stream."
    import itertools
    import jax
    import numpy as np
    from neurotic.nlp.shakespeare import PAD_ID, VOCAB_SIZE, lm_batches
    folder = Path(folder)
    setup = {"d_model": config.d_model, "n_layers": config.n_layers, "vocab_size": VOCAB_SIZE, "pad_id": PAD_ID,
             "learning_rate": config.learning_rate, "warmup_steps": config.warmup_steps,
             "clip_grad_norm": config.clip_grad_norm, "seed": config.seed}
    (folder / "setup.json").write_text(json.dumps(setup))
    leaves = jax.tree.leaves(loop.model.weights)
    np.savez(folder / "weights.npz", **{f"leaf_{i}": np.asarray(w) for i, w in enumerate(leaves)})
    # The same stream as neurotic's TrainTask: the same lines, batch size, buckets and seed.
    stream = (ids for ids, _, _ in lm_batches(train_lines, config.batch_size, config.boundaries, seed=config.seed))
    first = next(stream)
    np.savez(folder / "first_batch.npz", ids=first)
    stream = itertools.chain([first], stream)
    held_out = [ids for ids, _, _ in lm_batches(held_out_lines, config.eval_batch_size, config.boundaries,
                                                infinite=False, shuffle=False)]
    np.savez(folder / "held_out.npz", **{f"ids_{i}": ids for i, ids in enumerate(held_out)})
    worker = Worker(python, HERE / "trax_side.py", "lm", str(folder))
    chunk = folder / "batches.npz"

    def train(n):
        np.savez(chunk, **{f"ids_{i}": next(stream) for i in range(n)})
        return worker.ask({"train": n, "batches": str(chunk)})["seconds"]

    def log_perplexity():
        answer = worker.ask({"evaluate": True})
        return -answer["total"] / answer["count"]

    return Side("Trax", train, log_perplexity, 2.0), worker


def plot(sides, path, target):
    "Held-out perplexity against each side's own training time, in one PNG."
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for side in sides:
        ax.plot([s for s, _, _ in side.curve], [math.exp(v) for _, _, v in side.curve], marker="o", label=side.name)
    ax.axhline(target, color="grey", linestyle="--", label=f"target {target:g}")
    ax.set_yscale("log")
    ax.set_xlabel("training time (s, compilation included)")
    ax.set_ylabel("held-out character perplexity")
    ax.set_title("GRU language model (d 512, 2 layers) on Shakespeare")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot saved to {path}")


def compare(ours, theirs, target):
    "The same-run ratio of the times to the target; when a side hit its cap, to the best perplexity both reached."
    if ours.reached is not None and theirs.reached is not None:
        ratio = (ours.crossed or ours.reached) / (theirs.crossed or theirs.reached)
        print(f"ratio neurotic / Trax 1.4.1 time to perplexity {target:g}: {ratio:.3f}  (speed-up {1 / ratio:.1f}x), "
              f"same run; at the first evaluations at or below it: {ours.reached / theirs.reached:.3f}")
        return
    # The best perplexity the slower side reached: the times both needed for it bound the speed-up from below.
    common = max(min(v for _, _, v in side.curve) for side in (ours, theirs))
    times = [side.time_to(common) for side in (ours, theirs)]
    if min(times) <= 0:
        print(f"no perplexity below the starting one was reached by both sides (best {math.exp(common):.3f})")
        return
    ratio = times[0] / times[1]
    print(f"ratio neurotic / Trax 1.4.1 time to perplexity {math.exp(common):.3f}, the best both reached "
          f"({times[0]:.0f} s vs {times[1]:.0f} s): {ratio:.3f}  (speed-up {1 / ratio:.1f}x), same run")


def main(argv=None):
    args = parse_args(argv)
    from neurotic.nlp.language_model import LMConfig
    from neurotic.nlp.shakespeare import shakespeare_split
    header(f"GRU language model: training time to held-out perplexity {args.target:g} "
           f"(cap {args.minutes:g} minutes per side)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    config = LMConfig()
    print(f"recipe: {config}")
    train_lines, held_out_lines = shakespeare_split(config.n_held_out, config.split_seed)
    ours, loop = neurotic_side(config, train_lines, held_out_lines)
    sides, worker = [ours], None
    python = baseline_python(args.trax_python, "NEUROTIC_TRAX_PYTHON", "trax")
    with tempfile.TemporaryDirectory(prefix="bench_ttp_") as folder:
        if python:
            theirs, worker = trax_side(python, config, loop, train_lines, held_out_lines, folder)
            print(f"baseline: {worker.description} ({python}), same initial weights and batches, turns of "
                  f"{args.chunk_seconds:g} s")
            sides.append(theirs)
        cap, log_target = 60.0 * args.minutes, math.log(args.target)
        while not all(side.done(cap) for side in sides):
            for side in sides:
                if not side.done(cap):
                    side.turn(args.chunk_seconds, args.eval_every, cap, log_target)
        if worker:
            worker.close()
    plot(sides, args.plot, args.target)
    for side in sides:
        best = min(math.exp(v) for _, _, v in side.curve)
        verdict = (f"reached {args.target:g} after {side.crossed or side.reached:.0f} s of training (interpolated; "
                   f"first evaluation at or below it after {side.reached:.0f} s)" if side.reached is not None
                   else f"did not reach {args.target:g} within {args.minutes:g} minutes (best {best:.3f})")
        print(f"{side.name:<9} {verdict}; {side.steps} steps, {1e3 * side.seconds / max(side.steps, 1):.0f} ms per step")
    if len(sides) == 2:
        compare(*sides, args.target)
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")
    print(baselines_line({"Trax 1.4.1": f"{worker.description} ({python})" if worker else None}))
    finish([ours.reached is not None])


if __name__ == "__main__":
    main()
