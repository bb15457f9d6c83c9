"""Layers benchmark: a training step of the GRU language model, and the cost of `import neurotic`.

1. Training step of the GRU language model of the Trax review:
   Serial(ShiftRight(mode='train'), Embedding(256, 512), GRU(512), GRU(512), Dense(256), LogSoftmax())
   on batch 32 x length 64 tokens: cross-entropy, `jax.value_and_grad` and an optax Adam update, all
   in one jitted function. Baseline: the same model in PyTorch (`nn.Embedding`, a 2-layer
   `nn.GRU(batch_first=True)`, `nn.Linear`, `log_softmax`, `torch.optim.Adam`). Target: ours <= 1.0x,
   the median of alternating rounds.
   Second baseline: the same model in Trax 1.4.1, the step jitted by hand the same way with Trax's
   Adam(0.001) (tests/benchmarks/trax_side.py), when `--trax-python PATH` or NEUROTIC_TRAX_PYTHON=PATH
   names an interpreter with Trax (e.g. /tmp/traxvenv/bin/python, made by
   tools/trax_reference/make_trax_venv.sh). No target; its figures and ratio are printed.

   PyTorch is not a dependency of neurotic. The baseline runs in a separate worker process, this
   same script started with `--torch-worker` under an interpreter that has torch:
     --torch-python PATH              use that interpreter, e.g. /tmp/torchvenv/bin/python
     NEUROTIC_TORCH_PYTHON=PATH       the same, from the environment
   Without either, the current interpreter is used when it can import torch; otherwise the
   baseline is reported as not available. The two sides are timed in alternating rounds, so
   a change of load on a shared machine hits both alike; PyTorch uses one thread per core the
   process may run on. On a busy machine, `taskset -c 0 python tests/benchmarks/bench_layers.py`
   compares both on one core, where waiting threads cannot distort the result.

   The script also times the step's matrix products alone, each as XLA runs it on this machine: the
   products at every position of the two recurrences (forward and backward, inside a `lax.scan` of
   64 positions, as in the GRU) and the large products over all positions (input projections and
   their gradients, the output layer). Their sum bounds the step from below; it is printed beside
   the time the target asks for.

2. `python -c "import neurotic"` in a fresh interpreter (median wall time of several runs,
   target <= 1.5 s), and that importing neurotic and neurotic.layers pulls in neither TensorFlow
   nor torch. The time of `import neurotic.layers` (which brings in JAX) is printed as well.

Usage: python tests/benchmarks/bench_layers.py [--torch-python PATH] [--trax-python PATH] [--rounds N] [--strict]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import (Timing, Worker, baseline_python, baselines_line, finish, header, report, seeded_torch, serve,
                     timed)  # noqa: E402

BATCH, LENGTH, VOCAB, D_MODEL, N_LAYERS = 32, 64, 256, 512, 2
TORCH_TARGET = 1.0  # neurotic's step / PyTorch's, medians of the same run


def timing(times: list[float]) -> Timing:
    "A harness `Timing` from raw per-step seconds."
    return Timing(statistics.median(times), min(times), max(times), len(times))


# ----------------------------------------------------------------------------- neurotic (JAX)

def neurotic_step():
    "A zero-argument function running one jitted training step of the GRU model (state kept inside)."
    import jax
    import jax.numpy as jnp
    import optax
    from neurotic import layers as tl
    from neurotic import shapes

    model = tl.Serial(
        tl.ShiftRight(mode="train"),
        tl.Embedding(vocab_size=VOCAB, d_feature=D_MODEL),
        [tl.GRU(n_units=D_MODEL) for _ in range(N_LAYERS)],
        tl.Dense(n_units=VOCAB),
        tl.LogSoftmax())
    tokens = jax.random.randint(jax.random.PRNGKey(1), (BATCH, LENGTH), 0, VOCAB)
    weights, state = model.init(shapes.signature(tokens))
    rng = model.rng
    optimizer = optax.adam(1e-3)

    def loss_fn(weights, tokens):
        log_probs, _ = model.pure_fn(tokens, weights, state, rng)  # (batch, length, vocab)
        return -jnp.mean(jnp.take_along_axis(log_probs, tokens[..., None], axis=-1))

    @jax.jit
    def train_step(weights, opt_state, tokens):
        loss, grads = jax.value_and_grad(loss_fn)(weights, tokens)
        updates, opt_state = optimizer.update(grads, opt_state, weights)
        return optax.apply_updates(weights, updates), opt_state, loss

    carry = [weights, optimizer.init(weights)]

    def run():
        carry[0], carry[1], loss = train_step(carry[0], carry[1], tokens)
        return jax.block_until_ready(loss)

    return run


def matrix_products_alone() -> tuple[Timing, Timing]:
    "Timings of the GRU step's matrix products alone: those inside the recurrences, and the large ones."
    import jax
    import jax.numpy as jnp
    from harness import measure

    n = d = D_MODEL
    positions = BATCH * LENGTH
    keys = iter(jax.random.split(jax.random.PRNGKey(0), 16))
    normal = lambda *shape: jax.random.normal(next(keys), shape) / shape[0] ** 0.5
    w_gates_h, w_candidate_h = normal(n, 2 * n), normal(n, n)
    w_gates_t, w_candidate_t = normal(2 * n, n), normal(n, n)

    @jax.jit
    def recurrences(h):
        # Per position, forward: h @ w_gates_h, then (r * h) @ w_candidate_h; backward: d_candidate @
        # w_candidate_h.T, then d_gates @ w_gates_h.T. Each product needs the one before it.
        def forward(h, _):
            gates = jnp.tanh(h @ w_gates_h)
            return jnp.tanh((gates[:, n:] * h) @ w_candidate_h), None

        def backward(g, _):
            g_reset = jnp.tanh(g @ w_candidate_t)
            return jnp.tanh(jnp.concatenate([g, g_reset], axis=-1) @ w_gates_t), None

        h = jax.lax.scan(forward, h, None, length=LENGTH)[0]
        return jax.lax.scan(backward, h, None, length=LENGTH)[0]

    xs, d_projections = normal(LENGTH, BATCH, d), normal(LENGTH, BATCH, 3 * n)
    w_inputs, w_output = normal(d, 3 * n), normal(n, VOCAB)
    d_logits = normal(positions, VOCAB)  # the gradient of the output layer's logits

    @jax.jit
    def large_per_layer(xs, d_projections):
        return (xs.reshape(positions, d) @ w_inputs,  # input projections
                d_projections @ w_inputs.T,  # their gradient with respect to the inputs
                jnp.einsum("tbd,tbk->dk", xs, d_projections),  # ... and to the input weights
                jnp.einsum("tbi,tbk->ik", xs, d_projections[..., :2 * n]),  # recurrent gate weights
                jnp.einsum("tbi,tbk->ik", xs, d_projections[..., 2 * n:]))  # recurrent candidate weights

    @jax.jit
    def output_layer(hs, d_logits):
        return hs @ w_output, d_logits @ w_output.T, hs.T @ d_logits

    h0 = normal(BATCH, n)
    recurrent = measure(lambda: recurrences(h0), warmup=2, repeats=11)
    large = measure(lambda: large_per_layer(xs, d_projections), warmup=2, repeats=11)
    output = measure(lambda: output_layer(xs.reshape(positions, d), d_logits), warmup=2, repeats=11)
    per_model = lambda t: N_LAYERS * t + output.median  # one GRU layer's products, then the model's
    return (Timing(N_LAYERS * recurrent.median, N_LAYERS * recurrent.low, N_LAYERS * recurrent.high, 11),
            Timing(per_model(large.median), per_model(large.low), per_model(large.high), 11))


# ----------------------------------------------------------------------------- PyTorch worker

def torch_worker() -> None:
    "Serve timing requests: each stdin line `N` runs N timed steps and answers a JSON list of seconds."
    torch = seeded_torch()

    class GRULanguageModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, D_MODEL)
            self.gru = torch.nn.GRU(D_MODEL, D_MODEL, num_layers=N_LAYERS, batch_first=True)
            self.output = torch.nn.Linear(D_MODEL, VOCAB)

        def forward(self, tokens):
            shifted = torch.nn.functional.pad(tokens, (1, 0))[:, :-1]
            hidden, _ = self.gru(self.embedding(shifted))
            return torch.log_softmax(self.output(hidden), dim=-1)

    model = GRULanguageModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, VOCAB, (BATCH, LENGTH))

    def step():
        optimizer.zero_grad()
        log_probs = model(tokens)
        loss = torch.nn.functional.nll_loss(log_probs.reshape(-1, VOCAB), tokens.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    serve(f"torch {torch.__version__}, {torch.get_num_threads()} threads",
          lambda n: [timed(step) for _ in range(n)])


# ----------------------------------------------------------------------------- import time

def import_check(statement: str, runs: int = 5) -> tuple[Timing, list[str]]:
    "Wall time of `python -c statement` in fresh interpreters, and which heavy frameworks it loaded."
    probe = (f"{statement}; import sys, json; "
             "print(json.dumps([m for m in ('tensorflow', 'torch') if m in sys.modules]))")
    times, loaded = [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        loaded = json.loads(result.stdout.strip().splitlines()[-1])
    return timing(times), loaded


# ----------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", help="interpreter with torch for the baseline (default: $NEUROTIC_TORCH_PYTHON)")
    parser.add_argument("--trax-python", help="interpreter with Trax 1.4.1 for the baseline (default: $NEUROTIC_TRAX_PYTHON)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per side and round")
    parser.add_argument("--strict", action="store_true", help="exit non-zero on a missed target")
    args = parser.parse_args()

    header("layers: GRU language model training step (batch 32, length 64, d 512, 2 GRU layers)")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    results = []

    ours_step = neurotic_step()
    for _ in range(3):  # compile and warm up
        ours_step()
    python = baseline_python(args.torch_python, "NEUROTIC_TORCH_PYTHON", "torch")
    worker = Worker(python, __file__, "--torch-worker") if python else None
    if worker:
        print(f"baseline: {worker.description} ({python})")
        worker.times(3)  # warm up
    trax_python = baseline_python(args.trax_python, "NEUROTIC_TRAX_PYTHON", "trax")
    trax = Worker(trax_python, HERE / "trax_side.py", "gru") if trax_python else None
    if trax:
        print(f"baseline: {trax.description} ({trax_python})")
        trax.times(3)  # warm up
    ran = {"PyTorch": f"{worker.description} ({python})" if worker else None,
           "Trax 1.4.1": f"{trax.description} ({trax_python})" if trax else None}
    ours, theirs, trax_times = [], [], []  # (wall, cpu) seconds per step
    for _ in range(args.rounds):
        ours += [timed(ours_step) for _ in range(args.steps)]
        if worker:
            theirs += worker.times(args.steps)
        if trax:
            trax_times += trax.times(args.steps)
    for side in (worker, trax):
        if side:
            side.close()
    walls = lambda pairs: [wall for wall, _ in pairs]
    results.append(report("neurotic GRU LM train step", timing(walls(ours)),
                          timing(walls(theirs)) if theirs else None, "PyTorch nn.GRU train step",
                          target=TORCH_TARGET))
    report("neurotic GRU LM train step", timing(walls(ours)),
           timing(walls(trax_times)) if trax_times else None, "Trax 1.4.1 GRU train step, same run")
    recurrent, large = matrix_products_alone()
    floor = recurrent.median + large.median
    print(f"matrix products alone, as XLA runs them here: {recurrent.ms:.1f} ms in the recurrences "
          f"(512 dependent products of 32 rows) + {large.ms:.1f} ms in the large ones = {floor * 1e3:.1f} ms")
    if theirs:
        print(f"the {TORCH_TARGET}x target asks for a whole step in "
              f"{TORCH_TARGET * statistics.median(walls(theirs)) * 1e3:.1f} ms")
    load = os.getloadavg()[0]
    print(f"load average at end: {load:.2f} (1 min)")
    if theirs:
        # On a shared machine the medians mostly measure the other users; the fastest steps and the
        # processor time spent per step are steadier (PyTorch's OpenMP threads spin while they wait,
        # so its processor time grows with the load as well).
        print(f"ratio of the fastest steps: {min(walls(ours)) / min(walls(theirs)):.3f}")
        cpu = lambda pairs: statistics.median(c for _, c in pairs) * 1e3
        print(f"processor time per step (median): neurotic {cpu(ours):.1f} ms, PyTorch {cpu(theirs):.1f} ms")
    if trax_times:
        print(f"Trax: ratio of the fastest steps {min(walls(ours)) / min(walls(trax_times)):.3f}; processor time "
              f"per step (median) {statistics.median(c for _, c in trax_times) * 1e3:.1f} ms")
    print(baselines_line(ran))
    if load > (os.cpu_count() or 1):
        print("note: the machine was busy (load above the number of cores); repeat on a quiet machine")

    header("layers: import time")
    bare, loaded = import_check("import neurotic")
    label = 'python -c "import neurotic"'
    print(f"{label:<34} {bare}")
    met = bare.median <= 1.5
    print(f"target <= 1.5 s: {'met' if met else 'MISSED'}")
    results.append(met)
    with_layers, loaded_layers = import_check("import neurotic.layers")
    label = 'python -c "import neurotic.layers"'
    print(f"{label:<34} {with_layers}")
    heavy = sorted(set(loaded) | set(loaded_layers))
    print(f"tensorflow/torch imported: {', '.join(heavy) if heavy else 'neither'}")
    results.append(not heavy)
    finish(results, strict=args.strict)


if __name__ == "__main__":
    if "--torch-worker" in sys.argv:
        torch_worker()
    else:
        main()
