"""Held-out perplexity of the Shakespeare GRU language model against training time.

Trains the original notebooks' model (512 units, two GRU layers) with `neurotic.supervised.training.Loop` for a fixed
wall-clock budget (default 10 minutes), evaluating the held-out character perplexity at intervals. The clock
counts training only, compilation included; the evaluations are timed separately. Prints the curve, saves it
as a PNG, and compares the final perplexity with the target (default 5.0).

The recipe (the defaults below and of `LMConfig`), found with short probes on the two-core CPU: batches of 32
lines (a step costs about the same per character at any batch size, so small batches buy more updates), six
length buckets (16, 32, 40, 48, 56, 64: 90% of the ids are text, six compilations), Adam at 3e-3 after a
50-step linear warm-up, gradients clipped to norm 1, and the weights started Glorot-uniform (GRU kernels) and
at unit scale (embedding): Trax's own small initial weights leave the model at the unigram loss for its first
hundred or so steps.

    python tests/benchmarks/bench_lm.py [--minutes 10] [--eval-every 60] [--plot runs/bench_lm.png]
    python tests/benchmarks/bench_lm.py --minutes 1 --d-model 128 --learning-rate 0.01   # a quick look
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import finish, header  # noqa: E402


def parse_args(argv=None):
    "The benchmark's options; options meant for other benchmarks (e.g. --strict) pass through."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget (default: 10)")
    parser.add_argument("--eval-every", type=float, default=60.0, help="seconds of training between evaluations")
    parser.add_argument("--plot", default=str(HERE.parents[1] / "runs" / "bench_lm.png"), help="PNG to write")
    parser.add_argument("--target", type=float, default=5.0, help="held-out perplexity to reach")
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--steps-per-call", type=int, default=10, help="steps per Loop.run between clock checks")
    args, _ = parser.parse_known_args(argv)
    return args


def train_against_the_clock(args):
    "Train for the budget, evaluating at intervals; returns [(train seconds, step, log perplexity)]."
    from neurotic.nlp.language_model import LMConfig, held_out_log_perplexity, make_loop
    from neurotic.nlp.shakespeare import shakespeare_split
    config = LMConfig(d_model=args.d_model, n_layers=args.layers, batch_size=args.batch_size,
                      learning_rate=args.learning_rate, warmup_steps=args.warmup, clip_grad_norm=args.clip)
    print(f"config: {config}")
    train_lines, held_out_lines = shakespeare_split(config.n_held_out, config.split_seed)
    loop = make_loop(config, train_lines, checkpoint_at=lambda step: False, eval_at=lambda step: False,
                     progress_bar=False)
    budget, curve, eval_seconds = args.minutes * 60.0, [], 0.0
    curve.append((0.0, 0, held_out_log_perplexity(config, loop.model.weights, held_out_lines)))
    print(f"{'train s':>8} {'step':>6} {'log ppl':>8} {'ppl':>8}")
    print(f"{0.0:8.1f} {0:6d} {curve[0][2]:8.4f} {math.exp(curve[0][2]):8.3f}", flush=True)
    trained, next_eval = 0.0, args.eval_every
    while trained < budget:
        start = time.perf_counter()
        loop.run(args.steps_per_call)  # returns after the last step's loss is on the host
        trained += time.perf_counter() - start
        if trained >= next_eval or trained >= budget:
            start = time.perf_counter()
            log_ppl = held_out_log_perplexity(config, loop.model.weights, held_out_lines)
            eval_seconds += time.perf_counter() - start
            curve.append((trained, loop.step, log_ppl))
            print(f"{trained:8.1f} {loop.step:6d} {log_ppl:8.4f} {math.exp(log_ppl):8.3f}", flush=True)
            next_eval += args.eval_every
    print(f"evaluations took {eval_seconds:.1f} s in all (not counted as training)")
    print(f"training: {loop.step} steps of {config.batch_size} lines in {trained:.1f} s, "
          f"{1e3 * trained / loop.step:.0f} ms per step on average (compilation included)")
    return curve


def plot(curve, path, target):
    "Save held-out perplexity against training time as a PNG."
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    seconds = [s for s, _, _ in curve]
    perplexities = [math.exp(v) for _, _, v in curve]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(seconds, perplexities, marker="o", label="held-out perplexity")
    ax.axhline(target, color="grey", linestyle="--", label=f"target {target:g}")
    ax.set_yscale("log")
    ax.set_xlabel("training time (s, compilation included)")
    ax.set_ylabel("character perplexity")
    ax.set_title("GRU language model on Shakespeare, held-out lines")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot saved to {path}")


def main(argv=None):
    args = parse_args(argv)
    header(f"GRU language model: held-out perplexity within {args.minutes:g} minutes of training")
    curve = train_against_the_clock(args)
    plot(curve, args.plot, args.target)
    final = math.exp(curve[-1][2])
    reached = next((s for s, _, v in curve if math.exp(v) <= args.target), None)
    met = final <= args.target
    print(f"held-out perplexity after {curve[-1][0]:.0f} s ({curve[-1][1]} steps): {final:.3f}  "
          f"target <= {args.target:g}: {'met' if met else 'MISSED'}"
          + (f" (first reached after {reached:.0f} s)" if reached is not None else ""))
    finish([met])


if __name__ == "__main__":
    main()
