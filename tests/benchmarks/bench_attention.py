"""Attention beside recurrence: the TransformerLM's training step against PyTorch, its generation with and without the
predict-mode cache, and its held-out perplexity against the GRU language model's at equal training time.

1. step: one training step of a character-level TransformerLM (vocabulary 256, d_model 256, 2 layers, 4 heads,
   d_ff 1024, no dropout, then LogSoftmax; batch 32 x 128 tokens; cross-entropy; Adam at 1e-3) through
   `neurotic.supervised.training.Loop`, against PyTorch 2's `nn.TransformerEncoder` with the same sizes (pre-norm
   layers, ReLU, a causal mask, the same sinusoidal positions, embedding, final LayerNorm and output layer,
   `torch.optim.Adam`), run by a worker process under the interpreter that `--torch-python PATH` or
   NEUROTIC_TORCH_PYTHON names (e.g. /tmp/torchvenv/bin/python); rounds alternate. Target: ours <= 1.0x PyTorch.
2. generation: 256 characters written greedily by the same (untrained) TransformerLM, with the predict-mode cache
   against rerunning the whole prefix for every character (`neurotic.nlp.attention_lm.GreedyWriter`). Printed per
   character. Target: the cache >= 5x faster.
3. quality: the TransformerLM above (with `LMConfig`'s dropout, 0.1) and the notebooks' GRU language model
   (d_model 512, 2 GRU layers), as `neurotic-lm` builds them from `LMConfig`, trained on the
   Shakespeare lines with the same batches, optimizer and Loop for the same wall-clock time, the held-out
   perplexity measured after each budget (default 1, 3 and 10 minutes; `--budgets 10,30` for a quick look), with
   training steps per second. The curves are saved as a PNG. No target: the figures are what the chapter reports.
4. sentiment: the mean-embedding, GRU and TransformerEncoder classifiers of `25_transformer_sentiment` on
   sentence_polarity, trained for `--sentiment-steps` steps each, validation accuracy once per model.

Usage: python tests/benchmarks/bench_attention.py [--parts step,generation,quality,sentiment] [--budgets 60,180,600]
       [--torch-python PATH] [--rounds N] [--strict]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import (Timing, Worker, baseline_python, baselines_line, finish, header, report, seeded_torch, serve,
                     timed)  # noqa: E402

VOCAB, D_MODEL, N_LAYERS, N_HEADS, D_FF, BATCH, LENGTH = 256, 256, 2, 4, 1024, 32, 128
LEARNING_RATE = 1e-3
PARTS = ("step", "generation", "quality", "sentiment")


def sinusoid_table(length, d_model):
    "The sinusoidal position table (length, d_model), as numpy: sines in even columns, cosines in odd ones."
    import numpy as np
    positions = np.arange(length)[:, None]
    rates = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)
    table = np.zeros((length, d_model), np.float32)
    table[:, 0::2], table[:, 1::2] = np.sin(positions * rates), np.cos(positions * rates)
    return table


def random_batches(n=4):
    "Fixed batches of random characters (ids, targets, weights), the same shapes on both sides."
    import numpy as np
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(n):
        ids = rng.integers(1, VOCAB, (BATCH, LENGTH)).astype(np.int32)
        batches.append((ids, ids, np.ones((BATCH, LENGTH), np.float32)))
    return batches


# ----------------------------------------------------------------------------- PyTorch worker

def torch_worker() -> None:
    "Serve timing requests for PyTorch's step: each stdin line `N` runs N timed steps and answers [(wall, cpu)]."
    torch = seeded_torch()

    class TorchTransformerLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, D_MODEL)
            self.register_buffer("positions", torch.from_numpy(sinusoid_table(LENGTH, D_MODEL)))
            layer = torch.nn.TransformerEncoderLayer(D_MODEL, N_HEADS, D_FF, dropout=0.0, activation="relu",
                                                     batch_first=True, norm_first=True)
            self.blocks = torch.nn.TransformerEncoder(layer, N_LAYERS, enable_nested_tensor=False)
            self.norm = torch.nn.LayerNorm(D_MODEL)
            self.output = torch.nn.Linear(D_MODEL, VOCAB)
            self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(LENGTH))

        def forward(self, tokens):  # (B, T) -> (B, T, V) log-probabilities
            shifted = torch.nn.functional.pad(tokens, (1, 0))[:, :-1]
            x = self.embedding(shifted) + self.positions
            x = self.blocks(x, mask=self.mask, is_causal=True)
            return torch.log_softmax(self.output(self.norm(x)), dim=-1)

    model = TorchTransformerLM()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    tokens = [torch.from_numpy(ids).long() for ids, _, _ in random_batches()]
    position = [0]

    def step():
        batch = tokens[position[0] % len(tokens)]
        position[0] += 1
        optimizer.zero_grad()
        loss = torch.nn.functional.nll_loss(model(batch).reshape(-1, VOCAB), batch.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    serve(f"torch {torch.__version__}, {torch.get_num_threads()} threads",
          lambda n: [timed(step) for _ in range(n)])


# ----------------------------------------------------------------------------- 1. the training step

def transformer_config(**settings):
    "The benchmark's TransformerLM as a language-model configuration (`neurotic.nlp.language_model.LMConfig`)."
    from neurotic.nlp.language_model import LMConfig
    return LMConfig(model="transformer", d_model=D_MODEL, n_layers=N_LAYERS, n_heads=N_HEADS, d_ff=D_FF, **settings)


def our_loop():
    "Our side of the step comparison: the TransformerLM through `Loop`, on the fixed random batches."
    from neurotic import layers as tl
    from neurotic.nlp.language_model import model_for
    from neurotic.optimizers import Adam
    from neurotic.supervised.training import Loop, TrainTask
    import bench_training

    task = TrainTask(bench_training.endless(random_batches()), tl.CrossEntropyLoss(), Adam(LEARNING_RATE))
    never = lambda step: False  # noqa: E731
    return Loop(model_for(transformer_config(max_len=LENGTH, dropout=0.0)), task, eval_at=never,
                checkpoint_at=never, random_seed=0, progress_bar=False)


def training_step(args, ran: dict) -> list[bool]:
    import statistics
    from bench_training import timing

    header(f"attention: TransformerLM training step (batch {BATCH} x {LENGTH}, d_model {D_MODEL}, {N_LAYERS} layers, "
           f"{N_HEADS} heads, d_ff {D_FF}, Adam)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    loop = our_loop()
    loop.run(3)  # compile and warm up
    python = baseline_python(args.torch_python, "NEUROTIC_TORCH_PYTHON", "torch")
    worker = Worker(python, __file__, "--torch-worker") if python else None
    ran["PyTorch"] = f"{worker.description} ({python})" if worker else None
    if worker:
        print(f"baseline: {worker.description} ({python}), rounds alternating with ours")
        worker.times(3)  # warm up
    ours, theirs = [], []  # (wall, cpu) seconds per step
    for _ in range(args.rounds):
        wall, cpu = timed(lambda: loop.run(args.steps))  # returns once the last loss is on the host
        ours += [(wall / args.steps, cpu / args.steps)] * args.steps
        if worker:
            theirs += worker.times(args.steps)
    if worker:
        worker.close()
    walls = lambda pairs: [wall for wall, _ in pairs]  # noqa: E731
    met = report("neurotic TransformerLM step (Loop)", timing(walls(ours)),
                 timing(walls(theirs)) if theirs else None, "PyTorch nn.TransformerEncoder step", target=1.0)
    if theirs:
        cpu = lambda pairs: statistics.median(c for _, c in pairs) * 1e3  # noqa: E731
        print(f"ratio of the fastest rounds: {min(walls(ours)) / min(walls(theirs)):.3f}; processor time per step "
              f"(median): neurotic {cpu(ours):.1f} ms, PyTorch {cpu(theirs):.1f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")
    return [met]


# ----------------------------------------------------------------------------- 2. generation

def generation(args) -> list[bool]:
    import jax
    import numpy
    from neurotic.nlp.attention_lm import GreedyWriter, characters_per_second
    from neurotic.nlp.language_model import model_for
    from neurotic.shapes import ShapeDtype

    header(f"attention: greedy generation of {args.characters} characters, predict-mode cache against rerunning "
           f"the prefix (d_model {D_MODEL}, {N_LAYERS} layers, untrained)")
    config = transformer_config()
    weights, _ = model_for(config).init(ShapeDtype((1, 64), numpy.int32), rng=jax.random.PRNGKey(0))
    writer = GreedyWriter(config, weights)
    same = writer.cached([], args.characters) == writer.rerun([], args.characters)
    print(f"the two ways write the same {args.characters} characters: {same}")
    runs = [characters_per_second(writer, [], args.characters) for _ in range(3)]
    per_character = lambda name: sorted(1 / run[name] for run in runs)  # noqa: E731
    as_timing = lambda times: Timing(times[1], times[0], times[-1], len(times))  # noqa: E731
    met = report("with the cache, per character", as_timing(per_character("cached")),
                 as_timing(per_character("rerun")), "rerunning the prefix, per character", target=0.2)
    return [met and same]


# ----------------------------------------------------------------------------- 3. quality at equal time

def quality(args) -> list[bool]:
    from neurotic.nlp import language_model
    from neurotic.nlp.attention_lm import plot_curves, train_for_seconds
    from neurotic.nlp.shakespeare import shakespeare_split

    budgets = args.budgets
    header("attention: held-out perplexity of TransformerLM and GRU LM after "
           + ", ".join(f"{b:g} s" for b in budgets) + " of training each")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    configs = {"GRU LM (512, 2 layers)": language_model.LMConfig(),
               "TransformerLM (256, 2 layers, 4 heads)": transformer_config()}
    train_lines, held_out_lines = shakespeare_split()
    curves = {}
    for name, config in configs.items():
        print(f"{name}: {config}")
        never = lambda step: False  # noqa: E731
        loop = language_model.make_loop(config, train_lines, eval_at=never, checkpoint_at=never, progress_bar=False)
        curves[name] = train_for_seconds(config, loop, held_out_lines, budgets)
        print(f"{'train s':>8} {'step':>6} {'steps/s':>8} {'log ppl':>8} {'ppl':>8}")
        for point in curves[name]:
            rate = point.step / point.seconds if point.seconds else float("nan")
            print(f"{point.seconds:8.1f} {point.step:6d} {rate:8.2f} {point.log_perplexity:8.4f} "
                  f"{math.exp(point.log_perplexity):8.3f}", flush=True)
    print("held-out perplexity at equal training time (compilation included):")
    print(f"{'budget':>8} " + " ".join(f"{name[:24]:>26}" for name in curves))
    for index, budget in enumerate(budgets, start=1):
        print(f"{budget:7.0f}s " + " ".join(f"{math.exp(c[index].log_perplexity):7.3f} ({c[index].step:5d} steps, "
                                          f"{c[index].seconds:4.0f} s)" for c in curves.values()))
    print("(each measurement is taken at the first look at the clock past its budget: a step that compiles a new "
          "padded length can carry it well past)")
    figure = plot_curves(curves, "held-out perplexity at equal training time, Shakespeare lines")
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.plot, dpi=100)
    print(f"plot saved to {args.plot}")
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")
    return []


# ----------------------------------------------------------------------------- 4. sentiment

def sentiment(args) -> list[bool]:
    from neurotic.nlp.transformer_sentiment import compare_classifiers, scores_table

    header(f"attention: sentiment classifiers on sentence_polarity, {args.sentiment_steps} steps each")
    print(scores_table(compare_classifiers("sentence_polarity", n_steps=args.sentiment_steps)))
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--torch-python", help="interpreter with torch for the baseline (default: $NEUROTIC_TORCH_PYTHON)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating timing rounds of the training step")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per side and round")
    parser.add_argument("--characters", type=int, default=256, help="characters to generate")
    parser.add_argument("--budgets", default="60,180,600", help="training times in seconds, comma-separated")
    parser.add_argument("--plot", default=str(HERE.parents[1] / "runs" / "bench_attention.png"), help="PNG to write")
    parser.add_argument("--sentiment-steps", type=int, default=1000, help="training steps per sentiment classifier")
    parser.add_argument("--strict", action="store_true", help="exit non-zero on a missed target")
    args, _ = parser.parse_known_args()  # options meant for other benchmarks (run_all passes them on) pass through
    parts = args.parts.split(",")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    args.budgets = [float(b) for b in args.budgets.split(",")]
    ran, results = {}, []
    if "step" in parts:
        results += training_step(args, ran)
    if "generation" in parts:
        results += generation(args)
    if "quality" in parts:
        results += quality(args)
    if "sentiment" in parts:
        results += sentiment(args)
    if ran:
        print(baselines_line(ran))
    finish(results, strict=args.strict)


if __name__ == "__main__":
    if "--torch-worker" in sys.argv:
        torch_worker()
    else:
        main()
